//! The `uhub` command line: serving is the default; the other commands operate an installation
//! (a container's health check, backups, restores, the configuration reference).

use std::path::PathBuf;

/// What `uhub` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `uhub` or `uhub serve`: run the server.
    Serve,
    /// `uhub healthcheck`: ask the local server's `/readyz`; exit 0 when ready (a container's
    /// `HEALTHCHECK`, without curl in the image).
    Healthcheck,
    /// `uhub backup --to FILE`: a consistent snapshot of the running instance.
    Backup { to: PathBuf },
    /// `uhub backup --verify FILE`: open a backup and check it.
    Verify { file: PathBuf },
    /// `uhub restore FILE --data-dir DIR`: a backup into a new, empty data directory.
    Restore { file: PathBuf, data_dir: PathBuf },
    /// `uhub config-reference`: every setting as a Markdown table.
    ConfigReference,
    /// `uhub --version`.
    Version,
    /// `uhub --help`.
    Help,
}

pub const USAGE: &str = "\
usage:
  uhub [serve]                          run the server (settings from UHUB_* variables)
  uhub healthcheck                      exit 0 when the local server answers /readyz with 200
  uhub backup --to FILE                 snapshot the database and the data directory's files
  uhub backup --verify FILE             open a backup and check its contents against its manifest
  uhub restore FILE --data-dir DIR      restore a backup into DIR (new or empty)
  uhub config-reference                 print every setting as a Markdown table
  uhub --version | --help";

/// Reads the arguments after the program's name.
pub fn parse(args: &[String]) -> Result<Command, String> {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match words.as_slice() {
        [] | ["serve"] => Ok(Command::Serve),
        ["healthcheck"] => Ok(Command::Healthcheck),
        ["backup", "--to", file] => Ok(Command::Backup {
            to: non_empty(file)?,
        }),
        ["backup", "--verify", file] => Ok(Command::Verify {
            file: non_empty(file)?,
        }),
        ["restore", file, "--data-dir", dir] | ["restore", "--data-dir", dir, file] => {
            Ok(Command::Restore {
                file: non_empty(file)?,
                data_dir: non_empty(dir)?,
            })
        }
        ["config-reference"] => Ok(Command::ConfigReference),
        ["--version" | "-V" | "version"] => Ok(Command::Version),
        ["--help" | "-h" | "help"] => Ok(Command::Help),
        ["backup", ..] => Err("backup needs --to FILE or --verify FILE".to_owned()),
        ["restore", ..] => Err("restore needs FILE and --data-dir DIR".to_owned()),
        [first, ..] => Err(format!("unknown command `{first}`")),
    }
}

fn non_empty(word: &str) -> Result<PathBuf, String> {
    if word.trim().is_empty() || word.starts_with("--") {
        return Err(format!("`{word}` is not a file name"));
    }
    Ok(PathBuf::from(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(words: &[&str]) -> Result<Command, String> {
        parse(&words.iter().map(|w| w.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn each_command_reads_its_arguments() {
        assert_eq!(parsed(&[]), Ok(Command::Serve));
        assert_eq!(parsed(&["healthcheck"]), Ok(Command::Healthcheck));
        assert_eq!(
            parsed(&["backup", "--to", "/b/x.uhub"]),
            Ok(Command::Backup {
                to: "/b/x.uhub".into()
            })
        );
        assert_eq!(
            parsed(&["restore", "x.uhub", "--data-dir", "/d"]),
            parsed(&["restore", "--data-dir", "/d", "x.uhub"])
        );
        assert!(parsed(&["backup"]).is_err());
        assert!(parsed(&["backup", "--to", "--verify"]).is_err());
        assert!(parsed(&["restore", "x.uhub"]).is_err());
        assert_eq!(
            parsed(&["frobnicate"]),
            Err("unknown command `frobnicate`".to_owned())
        );
    }
}
