use super::*;
use crate::model::timeline::Timeline;
use proptest::prelude::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// One sample: each (slot, kib) read, then the end of the sample.
fn sample(g: &mut Groups, t: u64, readings: &[(u16, u64)], new_peak: bool) -> u64 {
    g.begin();
    let mut total = 0;
    for &(slot, kib) in readings {
        g.add(slot, kib);
        total += kib;
    }
    g.end(ms(t), Some(total), new_peak);
    total
}

#[test]
fn program_names() {
    for (command, program) in [
        ("/usr/bin/cc -c x.c", "cc"),
        ("rustc --crate-name memwatch", "rustc"),
        ("[kworker/0:1]", "kworker/0:1"),
        ("[sleep]", "sleep"),
        ("-bash", "bash"),
        ("postgres: checkpointer", "postgres"),
        ("", "?"),
        ("/", "?"),
        ("./build-script-build", "build-script-build"),
    ] {
        assert_eq!(program_of(command), program, "{command:?}");
    }
}

#[test]
fn processes_of_one_program_share_a_group() {
    let mut g = Groups::new(16);
    let a = g.join("/usr/bin/rustc --crate-name a");
    let b = g.join("rustc --crate-name b");
    let c = g.join("cc -c x.c");
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_ne!(a, OTHER);
    sample(&mut g, 0, &[(a, 100), (b, 50), (c, 10)], true);
    sample(&mut g, 10, &[(a, 10), (c, 300)], false);
    let r = g.report();
    let names: Vec<&str> = r.groups.iter().map(|g| g.program.as_str()).collect();
    assert_eq!(names, ["cc", "rustc"], "largest peak first");
    assert_eq!(r.groups[0].max_rss_kib, Some(300));
    assert_eq!(r.groups[0].max_rss_ms, Some(10));
    assert_eq!(r.groups[1].processes, 2);
    assert_eq!(r.groups[1].rss_at_peak_kib, 150);
    assert_eq!(r.groups[1].rss_kib, [150, 10]);
    assert_eq!(r.t_ms, [0, 10]);
    assert!(!r.thinned);
}

#[test]
fn an_exec_moves_a_process_to_its_new_program() {
    let mut g = Groups::new(16);
    let sh = g.join("sh -c make");
    let same = g.exec(sh, "/bin/sh -c other");
    assert_eq!(same, sh);
    let make = g.exec(sh, "make -j4");
    assert_ne!(make, sh);
    let r = g.report();
    let count = |p: &str| {
        r.groups
            .iter()
            .find(|g| g.program == p)
            .map(|g| g.processes)
    };
    assert_eq!((count("sh"), count("make")), (Some(1), Some(1)));
}

#[test]
fn past_the_top_groups_the_rest_is_other() {
    let mut g = Groups::new(16);
    let slots: Vec<u16> = (0..12).map(|i| g.join(&format!("p{i}"))).collect();
    let readings: Vec<(u16, u64)> = slots
        .iter()
        .enumerate()
        .map(|(i, &s)| (s, 10 * (i as u64 + 1)))
        .collect();
    let total = sample(&mut g, 0, &readings, true);
    let r = g.report();
    assert_eq!(r.groups.len(), TOP_GROUPS + 1);
    let other = r.groups.last().unwrap();
    assert!(other.other && other.max_rss_kib.is_none());
    assert_eq!(other.processes, 4);
    assert_eq!(other.rss_at_peak_kib, 10 + 20 + 30 + 40);
    assert_eq!(r.groups[0].program, "p11");
    let at_peak: u64 = r.groups.iter().map(|g| g.rss_at_peak_kib).sum();
    assert_eq!(at_peak, total);
}

#[test]
fn a_new_program_takes_the_slot_of_the_smallest_finished_one() {
    let mut g = Groups::new(16);
    let slots: Vec<u16> = (0..SLOTS).map(|i| g.join(&format!("p{i}"))).collect();
    let readings: Vec<(u16, u64)> = slots
        .iter()
        .enumerate()
        .map(|(i, &s)| (s, 100 + i as u64))
        .collect();
    let total = sample(&mut g, 0, &readings, true);
    // Every program still runs: the next goes to "other".
    assert_eq!(g.join("late"), OTHER);
    g.leave(OTHER);
    // p0 (the smallest peak) and p5 end; a new program takes p0's slot.
    g.leave(slots[0]);
    g.leave(slots[5]);
    let late = g.join("late");
    assert_eq!(late, slots[0]);
    sample(&mut g, 10, &[(late, 7)], false);
    let r = g.report();
    let other = r.groups.last().unwrap();
    // p0's history went into "other", with the sample at the peak: still exact.
    assert_eq!(
        other.rss_kib[0],
        100 + (1..SLOTS as u64 - TOP_GROUPS as u64)
            .map(|i| 100 + i)
            .sum::<u64>()
    );
    let at_peak: u64 = r.groups.iter().map(|g| g.rss_at_peak_kib).sum();
    assert_eq!(at_peak, total);
}

proptest! {
    /// At every point the groups add up to that sample's total; the points are the very
    /// samples the total's timeline keeps at the same cap; each group's peak is exact
    /// however far the points were thinned; the split at the peak adds up to the peak.
    #[test]
    fn groups_add_up_and_keep_their_peaks(
        samples in proptest::collection::vec(
            proptest::collection::vec((0usize..12, 0u64..10_000), 0..6), 1..1500),
        cap in 2usize..40,
    ) {
        let mut g = Groups::new(cap);
        let slots: Vec<u16> = (0..12).map(|i| g.join(&format!("prog{}", i % 10))).collect();
        let mut tl = Timeline::new(cap);
        let mut peak: Option<u64> = None;
        let mut group_max = std::collections::HashMap::<u16, u64>::new();
        for (t, readings) in samples.iter().enumerate() {
            let r: Vec<(u16, u64)> = readings.iter().map(|&(p, kib)| (slots[p], kib)).collect();
            let total: u64 = r.iter().map(|x| x.1).sum();
            let new_peak = peak.is_none_or(|p| total > p);
            if new_peak {
                peak = Some(total);
            }
            let mut per = std::collections::HashMap::<u16, u64>::new();
            for &(s, kib) in &r {
                *per.entry(s).or_default() += kib;
            }
            for (s, v) in per {
                let m = group_max.entry(s).or_default();
                *m = (*m).max(v);
            }
            sample(&mut g, t as u64, &r, new_peak);
            tl.push(ms(t as u64), total, 1);
        }
        let r = g.report();
        prop_assert!(r.t_ms.len() <= cap);
        prop_assert!(r.groups.len() <= TOP_GROUPS + 1);
        let totals = r.totals();
        let kept: Vec<(u64, u64)> = tl.points().iter().map(|p| (p.t_ms, p.total_rss_kib)).collect();
        let ours: Vec<(u64, u64)> = r.t_ms.iter().copied().zip(totals.iter().copied()).collect();
        prop_assert_eq!(ours, kept);
        prop_assert_eq!(totals.iter().copied().max(), peak);
        let at_peak: u64 = r.groups.iter().map(|g| g.rss_at_peak_kib).sum();
        prop_assert_eq!(Some(at_peak), peak);
        for group in r.groups.iter().filter(|g| !g.other) {
            let slot = slots[group.program.trim_start_matches("prog").parse::<usize>().unwrap()];
            prop_assert_eq!(group.max_rss_kib, Some(group_max.get(&slot).copied().unwrap_or(0)));
            prop_assert_eq!(group.rss_kib.len(), r.t_ms.len());
        }
    }
}
