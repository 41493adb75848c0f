//! kubectl plugin completion: cobra's `__complete` protocol, which kubectl 1.26+
//! speaks to a `kubectl_complete-tap_metrics` executable found on the PATH.
//!
//! kubectl passes the words typed after `kubectl tap-metrics`, the last one being
//! the word to complete (an empty line sends no word at all). The answer is one
//! `candidate\tdescription` per line, then `:<directive>`. Flags, subcommands and
//! fixed values come from the clap command, so completion follows the CLI.
//! Nothing here touches the network: contexts come from the kubeconfig file.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{self, Write};
use std::path::PathBuf;

use clap::builder::StyledStr;
use clap::{Arg, ArgAction, Command, CommandFactory, ValueHint};
use clap_complete::Shell;
use serde::Deserialize;

use crate::cli::Cli;
use crate::config;
use crate::engine::Engine;
use crate::source::cluster::KubeconfigEnv;

/// The executable the shell scripts complete.
const BIN_NAME: &str = "kubectl-tap_metrics";

// cobra's ShellCompDirective values.
/// Let the shell complete file names.
const FILE_COMP: u8 = 0;
const ERROR: u8 = 1;
const NO_FILE_COMP: u8 = 4;

/// Long names of the flags whose values are completed from data, not from clap.
const CONFIG: &str = "config";
const RESOURCE: &str = "resource";
const METRIC: &str = "metric";
const KUBECONFIG: &str = "kubeconfig";
const CONTEXT: &str = "context";
const CLUSTER: &str = "cluster";
const USER: &str = "user";

/// Writes the completion candidates for `words`, then the directive line.
pub fn complete(words: &[String], out: &mut dyn Write) -> io::Result<()> {
    let (typed, current) = match words.split_last() {
        Some((last, rest)) => (rest, last.as_str()),
        None => (&[][..], ""),
    };
    let mut root = Cli::command();
    // Adds --help, --version and the help subcommand, as the parser sees them.
    root.build();
    let line = Line::parse(&root, typed);
    let (candidates, directive) = line.complete(current);
    for c in candidates {
        if c.description.is_empty() {
            writeln!(out, "{}", c.value)?;
        } else {
            writeln!(out, "{}\t{}", c.value, c.description)?;
        }
    }
    writeln!(out, ":{directive}")
}

/// Writes clap_complete's script for `shell`, without the hidden `__complete`:
/// clap_complete offers hidden subcommands, and `Command` cannot remove one, so
/// the root is rebuilt from the CLI's arguments and visible subcommands.
pub fn shell_script(shell: Shell, out: &mut dyn Write) -> std::io::Result<()> {
    let full = Cli::command();
    let mut visible = Command::new(BIN_NAME)
        .version(crate::VERSION)
        .about(full.get_about().cloned().unwrap_or_default())
        .args(full.get_arguments().cloned())
        .groups(full.get_groups().cloned())
        .subcommands(full.get_subcommands().filter(|s| !s.is_hide_set()).cloned());
    // clap_complete panics when its writer fails (a closed pipe): write the
    // script to memory, and the memory to `out`.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut visible, BIN_NAME, &mut script);
    out.write_all(&script)
}

struct Candidate {
    value: String,
    description: String,
}

impl Candidate {
    fn new(value: impl Into<String>, description: Option<&StyledStr>) -> Candidate {
        Candidate {
            value: value.into(),
            description: description.map(first_line).unwrap_or_default(),
        }
    }
}

/// One line of a help text: shells show a single line per candidate.
fn first_line(help: &StyledStr) -> String {
    let text = help.to_string();
    text.lines().next().unwrap_or("").trim().replace('\t', " ")
}

fn matching(candidates: Vec<Candidate>, prefix: &str) -> Vec<Candidate> {
    candidates
        .into_iter()
        .filter(|c| c.value.starts_with(prefix))
        .collect()
}

/// What the words before the one being completed say.
struct Line<'a> {
    /// The (sub)command the words reached.
    cmd: &'a Command,
    /// Flags of `cmd` already given, by id.
    given: HashSet<&'a str>,
    /// Whether any flag was given, even an unknown one: flags rule out subcommands.
    flagged: bool,
    /// Flag values given so far, by long name; the last one wins, as in clap.
    values: HashMap<&'a str, String>,
    positionals: usize,
    /// The flag that the word being completed is the value of.
    pending: Option<&'a Arg>,
    /// After `--` every word is a positional.
    end_of_flags: bool,
}

impl<'a> Line<'a> {
    fn new(cmd: &'a Command) -> Line<'a> {
        Line {
            cmd,
            given: HashSet::new(),
            flagged: false,
            values: HashMap::new(),
            positionals: 0,
            pending: None,
            end_of_flags: false,
        }
    }

    fn parse(root: &'a Command, words: &[String]) -> Line<'a> {
        let mut line = Line::new(root);
        for word in words {
            if let Some(arg) = line.pending.take() {
                line.set_value(arg, word);
            } else if line.end_of_flags {
                line.positionals += 1;
            } else if word == "--" {
                line.end_of_flags = true;
            } else if word.len() > 1 && word.starts_with('-') {
                line.flagged = true;
                line.flag(word);
            } else if let Some(sub) = line.subcommand(word) {
                line = Line::new(sub);
            } else {
                line.positionals += 1;
            }
        }
        line
    }

    /// A subcommand named `word`, where one may still come: the root's flags
    /// conflict with subcommands, as in the parser.
    fn subcommand(&self, word: &str) -> Option<&'a Command> {
        if self.positionals == 0 && !self.flagged {
            self.cmd.find_subcommand(word)
        } else {
            None
        }
    }

    fn set_value(&mut self, arg: &'a Arg, value: &str) {
        if let Some(long) = arg.get_long() {
            self.values.insert(long, value.to_string());
        }
    }

    /// Records `--name`, `--name=value`, `-abc`, `-ovalue` or `-o=value`.
    fn flag(&mut self, word: &str) {
        if let Some(long) = word.strip_prefix("--") {
            let (name, value) = match long.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (long, None),
            };
            let Some(arg) = self.long(name) else { return };
            self.given.insert(arg.get_id().as_str());
            match value {
                Some(v) => self.set_value(arg, v),
                None if takes_value(arg) => self.pending = Some(arg),
                None => {}
            }
            return;
        }
        let shorts = &word[1..];
        for (i, c) in shorts.char_indices() {
            let Some(arg) = self.short(c) else { return };
            self.given.insert(arg.get_id().as_str());
            if takes_value(arg) {
                let rest = &shorts[i + c.len_utf8()..];
                let value = rest.strip_prefix('=').unwrap_or(rest);
                if value.is_empty() {
                    self.pending = Some(arg);
                } else {
                    self.set_value(arg, value);
                }
                return;
            }
        }
    }

    fn long(&self, name: &str) -> Option<&'a Arg> {
        self.cmd
            .get_arguments()
            .find(|a| a.get_long() == Some(name))
    }

    fn short(&self, c: char) -> Option<&'a Arg> {
        self.cmd.get_arguments().find(|a| a.get_short() == Some(c))
    }

    fn complete(&self, current: &str) -> (Vec<Candidate>, u8) {
        if let Some(arg) = self.pending {
            return self.values_of(arg, current);
        }
        if !self.end_of_flags && current.starts_with('-') {
            // `--flag=val`: the shell keeps `--flag=` and completes only the value.
            if let Some((flag, value)) = current.split_once('=') {
                let arg = match flag.strip_prefix("--") {
                    Some(name) => self.long(name),
                    None => flag.chars().last().and_then(|c| self.short(c)),
                };
                return match arg {
                    Some(arg) if takes_value(arg) => self.values_of(arg, value),
                    _ => (Vec::new(), NO_FILE_COMP),
                };
            }
            return (self.flag_names(current), NO_FILE_COMP);
        }
        self.positional(current)
    }

    fn flag_names(&self, prefix: &str) -> Vec<Candidate> {
        let mut out = Vec::new();
        for arg in self.cmd.get_arguments() {
            if arg.is_positional() || arg.is_hide_set() {
                continue;
            }
            if self.given.contains(arg.get_id().as_str()) && !repeatable(arg) {
                continue;
            }
            if let Some(long) = arg.get_long() {
                out.push(Candidate::new(format!("--{long}"), arg.get_help()));
            }
            if let Some(short) = arg.get_short() {
                out.push(Candidate::new(format!("-{short}"), arg.get_help()));
            }
        }
        matching(out, prefix)
    }

    fn positional(&self, prefix: &str) -> (Vec<Candidate>, u8) {
        let mut out = Vec::new();
        let mut directive = NO_FILE_COMP;
        if !self.end_of_flags && self.positionals == 0 && !self.flagged {
            out.extend(
                self.cmd
                    .get_subcommands()
                    .filter(|s| !s.is_hide_set())
                    .map(|s| Candidate::new(s.get_name(), s.get_about())),
            );
            out = matching(out, prefix);
        }
        if let Some(arg) = self.cmd.get_positionals().nth(self.positionals) {
            let (values, d) = self.values_of(arg, prefix);
            out.extend(values);
            directive = d;
        }
        (out, directive)
    }

    fn values_of(&self, arg: &Arg, prefix: &str) -> (Vec<Candidate>, u8) {
        let fixed: Vec<Candidate> = arg
            .get_possible_values()
            .into_iter()
            .filter(|v| !v.is_hide_set())
            .map(|v| Candidate::new(v.get_name(), v.get_help()))
            .collect();
        if !fixed.is_empty() {
            return (matching(fixed, prefix), NO_FILE_COMP);
        }
        let found = match arg.get_long() {
            Some(RESOURCE) => self.config_names(resource_names),
            Some(METRIC) => self.config_names(metric_names),
            Some(CONTEXT) => Ok(self.kubeconfig().contexts),
            Some(CLUSTER) => Ok(self.kubeconfig().clusters),
            Some(USER) => Ok(self.kubeconfig().users),
            _ if is_path(arg) => return (Vec::new(), FILE_COMP),
            _ => return (Vec::new(), NO_FILE_COMP),
        };
        match found {
            Ok(names) => {
                let all = names
                    .into_iter()
                    .map(|(value, description)| Candidate { value, description })
                    .collect();
                (matching(all, prefix), NO_FILE_COMP)
            }
            Err(message) => {
                // cobra's habit: the shell scripts drop stderr, `kubectl __complete` shows it.
                crate::ui::line("", &message);
                (Vec::new(), ERROR)
            }
        }
    }

    /// Names from the config the command line uses: `--config`, else the embedded one.
    fn config_names(
        &self,
        names: fn(&Engine) -> BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, String> {
        let loaded = match self.values.get(CONFIG).map(String::as_str) {
            // Standard input is kubectl's terminal here: nothing to read.
            Some("-") => return Ok(BTreeMap::new()),
            Some(path) => config::load_path(path).map_err(|e| e.to_string())?,
            None => config::tap_default(),
        };
        let engine = Engine::compile(&loaded.config, &loaded.origin).map_err(|e| e.to_string())?;
        Ok(names(&engine))
    }

    /// The kubeconfig as kubectl would merge it: `--kubeconfig`, else the
    /// `$KUBECONFIG` list, else `~/.kube/config`. Missing or unreadable files
    /// add nothing; the first file to name something wins.
    fn kubeconfig(&self) -> KubeNames {
        let files: Vec<PathBuf> = if let Some(path) = self.values.get(KUBECONFIG) {
            vec![PathBuf::from(path)]
        } else {
            KubeconfigEnv::from_process().search_path().files
        };
        let mut names = KubeNames::default();
        for file in files {
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue;
            };
            let Ok(kc) = serde_yaml::from_str::<Kubeconfig>(&text) else {
                continue;
            };
            for c in kc.contexts.unwrap_or_default() {
                let cluster = c.context.and_then(|c| c.cluster).unwrap_or_default();
                let description = if cluster.is_empty() {
                    String::new()
                } else {
                    format!("cluster {cluster}")
                };
                names.contexts.entry(c.name).or_insert(description);
            }
            for c in kc.clusters.unwrap_or_default() {
                names.clusters.entry(c.name).or_default();
            }
            for u in kc.users.unwrap_or_default() {
                names.users.entry(u.name).or_default();
            }
        }
        names
    }
}

fn takes_value(arg: &Arg) -> bool {
    arg.get_action().takes_values()
}

fn repeatable(arg: &Arg) -> bool {
    matches!(arg.get_action(), ArgAction::Append | ArgAction::Count)
}

/// Whether the value is a path, by value hint or by the `FILE`/`PATH` value name.
fn is_path(arg: &Arg) -> bool {
    matches!(
        arg.get_value_hint(),
        ValueHint::AnyPath | ValueHint::FilePath | ValueHint::DirPath
    ) || arg
        .get_value_names()
        .is_some_and(|names| names.iter().any(|n| *n == "FILE" || *n == "PATH"))
}

/// `--resource` values: plural.group, the form kubectl users type.
fn resource_names(engine: &Engine) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    for r in engine.resources() {
        let [canonical, ..] = r.names();
        names
            .entry(canonical)
            .or_insert_with(|| format!("{} ({} metrics)", r.gvk, r.families.len()));
    }
    names
}

fn metric_names(engine: &Engine) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    for f in engine.resources().iter().flat_map(|r| &r.families) {
        let help = f
            .help
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .replace('\t', " ");
        names.entry(f.name.clone()).or_insert(help);
    }
    names
}

/// Names from the kubeconfig, with their descriptions.
#[derive(Default)]
struct KubeNames {
    contexts: BTreeMap<String, String>,
    clusters: BTreeMap<String, String>,
    users: BTreeMap<String, String>,
}

/// The part of a kubeconfig completion reads; `null` lists are common.
#[derive(Deserialize)]
struct Kubeconfig {
    #[serde(default)]
    contexts: Option<Vec<NamedContext>>,
    #[serde(default)]
    clusters: Option<Vec<Named>>,
    #[serde(default)]
    users: Option<Vec<Named>>,
}

#[derive(Deserialize)]
struct Named {
    name: String,
}

#[derive(Deserialize)]
struct NamedContext {
    name: String,
    #[serde(default)]
    context: Option<ContextRef>,
}

#[derive(Deserialize)]
struct ContextRef {
    #[serde(default)]
    cluster: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The flags completed from data must exist and take a value, or their
    /// completion silently stops working after a rename.
    #[test]
    fn data_flags_exist() {
        let root = Cli::command();
        for long in [CONFIG, RESOURCE, METRIC, KUBECONFIG, CONTEXT, CLUSTER, USER] {
            let arg = root
                .get_arguments()
                .find(|a| a.get_long() == Some(long))
                .unwrap_or_else(|| panic!("no --{long} flag"));
            assert!(takes_value(arg), "--{long} takes no value");
        }
        for long in [CONFIG, KUBECONFIG] {
            let arg = root
                .get_arguments()
                .find(|a| a.get_long() == Some(long))
                .unwrap();
            assert!(is_path(arg), "--{long} is not completed as a path");
        }
    }

    #[test]
    fn shell_scripts_leave_out_the_hidden_subcommand() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::PowerShell] {
            let mut script = Vec::new();
            shell_script(shell, &mut script).unwrap();
            let script = String::from_utf8(script).unwrap();
            assert!(!script.contains("__complete"), "{shell} offers __complete");
            for visible in ["validate", "resource", "pushgateway", "powershell"] {
                assert!(script.contains(visible), "{shell} lacks {visible}");
            }
        }
    }
}
