//! The documents generated from the command line's definition: shell completions and the
//! manual page.

use clap::CommandFactory;

use super::Cli;

/// Write the completion script for `shell`.
pub(crate) fn completions(shell: clap_complete::Shell, out: &mut dyn std::io::Write) {
    clap_complete::generate(shell, &mut Cli::command(), "memwatch", out);
}

/// Write the manual page: memwatch(1) with every subcommand's options in it.
pub(crate) fn man_page(out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let cmd = Cli::command();
    let man = clap_mangen::Man::new(cmd.clone());
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    man.render_subcommands_section(out)?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = sub.get_name();
        if matches!(name, "help" | "completions" | "man") {
            continue;
        }
        let sub = sub.clone().bin_name(format!("memwatch {name}"));
        let man = clap_mangen::Man::new(sub).title("memwatch");
        writeln!(out, ".SH \"MEMWATCH {}\"", name.to_uppercase())?;
        man.render_synopsis_section(out)?;
        man.render_description_section(out)?;
        man.render_options_section(out)?;
        man.render_extra_section(out)?;
    }
    man.render_extra_section(out)?;
    man.render_version_section(out)?;
    Ok(())
}
