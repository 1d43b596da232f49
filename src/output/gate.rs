//! The words of a `--max-rss` check ([`crate::model::gate`]): its verdict, and the check
//! as a report records it.

use super::units::iec;
use crate::model::Report;
use crate::model::figures::Figure;
use crate::model::gate::{MaxRss, MaxRssCheck, Outcome};

/// The check of `r`'s figure `f` against `limit`; `running`: the job is not over yet (an
/// interim report).
pub(crate) fn check(r: &Report, f: &Figure, limit: &MaxRss, running: bool) -> MaxRssCheck {
    let value = f.of(r);
    check_value(f, value, value.is_some() && (f.partial)(r), limit, running)
}

/// The check of the value `value` of figure `f` (a lower bound when `partial`) against
/// `limit`.
pub(crate) fn check_value(
    f: &Figure,
    value: Option<f64>,
    partial: bool,
    limit: &MaxRss,
    running: bool,
) -> MaxRssCheck {
    let outcome = Outcome::of(value, partial, limit, running);
    MaxRssCheck {
        metric: f.name.to_string(),
        figure: f.key.to_string(),
        limit: limit.text.clone(),
        limit_kib: limit.kib,
        value_kib: value.map(|v| v.max(0.0).round() as u64),
        value_is_lower_bound: partial,
        exceeded: outcome.exceeded(),
        passed: outcome == Outcome::Within,
        verdict: verdict(f, outcome, value, partial, limit),
    }
}

/// The verdict line: `FAIL: max total RSS 2.3 GiB is over the limit of 2.0 GiB (--max-rss
/// 2GiB)`, `OK: …`, or why the check could not pass.
pub(crate) fn verdict(
    f: &Figure,
    outcome: Outcome,
    value: Option<f64>,
    partial: bool,
    limit: &MaxRss,
) -> String {
    let name = f.noun;
    let kib = value.map_or(0, |v| v.max(0.0).round() as u64);
    let (value, limit_iec, flag) = (iec(kib), iec(limit.kib), &limit.text);
    match outcome {
        Outcome::Over if partial => format!(
            "FAIL: {name}, at least {value} (processes memwatch could not read are left out), \
             is over the limit of {limit_iec} (--max-rss {flag})"
        ),
        Outcome::Over => {
            format!("FAIL: {name} {value} is over the limit of {limit_iec} (--max-rss {flag})")
        }
        Outcome::Within => {
            format!("OK: {name} {value} is within the limit of {limit_iec} (--max-rss {flag})")
        }
        Outcome::Unconfirmed => format!(
            "FAIL: cannot confirm --max-rss {flag}: {name} is at least {value}, within the \
             limit of {limit_iec}, but leaves out processes memwatch could not read, so the \
             job's may be over it"
        ),
        Outcome::Unknown => format!(
            "FAIL: cannot check --max-rss {flag}: {name} is unknown ({})",
            f.unknown_reason
        ),
        Outcome::Pending => format!(
            "not decided yet: the job is still running ({name} so far {value}, the limit \
             {limit_iec}; --max-rss {flag})"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::figures::by_name;

    #[test]
    fn verdicts_name_the_peak_and_the_limit() {
        let f = by_name("total").unwrap();
        let limit = MaxRss {
            text: "2GiB".into(),
            kib: 2 * 1024 * 1024,
        };
        let v = |o, kib: Option<f64>, partial| verdict(f, o, kib, partial, &limit);
        let gib = |x: f64| Some(x * 1024.0 * 1024.0);
        assert_eq!(
            v(Outcome::Over, gib(2.3), false),
            "FAIL: max total RSS 2.3 GiB is over the limit of 2.0 GiB (--max-rss 2GiB)"
        );
        assert_eq!(
            v(Outcome::Within, gib(1.5), false),
            "OK: max total RSS 1.5 GiB is within the limit of 2.0 GiB (--max-rss 2GiB)"
        );
        assert_eq!(
            v(Outcome::Over, gib(3.0), true),
            "FAIL: max total RSS, at least 3.0 GiB (processes memwatch could not read are left \
             out), is over the limit of 2.0 GiB (--max-rss 2GiB)"
        );
        assert!(
            v(Outcome::Unconfirmed, gib(1.0), true).starts_with(
                "FAIL: cannot confirm --max-rss 2GiB: max total RSS is at least 1.0 GiB"
            )
        );
        assert_eq!(
            v(Outcome::Unknown, None, false),
            "FAIL: cannot check --max-rss 2GiB: max total RSS is unknown (no sample saw the \
             job alive)"
        );
        assert!(v(Outcome::Pending, gib(1.0), false).starts_with("not decided yet"));
        let pss = by_name("pss").unwrap();
        assert!(
            verdict(pss, Outcome::Over, gib(2.5), false, &limit)
                .starts_with("FAIL: max total PSS 2.5 GiB is over")
        );
    }
}
