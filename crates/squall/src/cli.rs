//! Command-line interface. Every flag that a script would set also reads an environment
//! variable, so a team can fix its defaults once (`SQUALL_RULES`, `SQUALL_FORMAT`, ...).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
pub use squall_core::cli::{Format, Response};

#[derive(Parser, Debug)]
#[command(
    name = "squall",
    version,
    about = "Incident response for AWS, GCP and Azure: every phase of an incident from one binary.",
    long_about = "Incident response for AWS, GCP and Azure: every phase of an incident from one binary.\n\n\
        Start with `squall hunt` on the audit logs you have (CloudTrail S3 exports, GCP Logging \
        exports, Azure storage exports): it runs SigmaHQ's rules and Squall's own pack and tells \
        you what happened, where, and which record proves it.",
    after_help = "Exit codes: 0 the run completed, 1 detections with --fail-on-detection, 2 error \
        (or any warning with --strict), 3 a response action failed on at least one resource."
)]
pub struct Cli {
    /// Config file [default: $XDG_CONFIG_HOME/squall/config.toml]; flags and environment
    /// variables override it.
    #[arg(long, global = true, value_name = "FILE", env = "SQUALL_CONFIG")]
    pub config: Option<PathBuf>,

    /// Where cases and evidence are kept [default: $XDG_DATA_HOME/squall, ~/.local/share/squall].
    #[arg(long, global = true, value_name = "DIR", env = "SQUALL_HOME")]
    pub home: Option<PathBuf>,

    /// Who is acting, as recorded in the ledger [default: $USER@hostname].
    #[arg(long, global = true, value_name = "NAME", env = "SQUALL_ACTOR")]
    pub actor: Option<String>,

    /// Sign every ledger entry this run writes with this ed25519 key (`squall key generate`).
    #[arg(long, global = true, value_name = "FILE", env = "SQUALL_SIGN_KEY")]
    pub sign_key: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Identify: run Sigma rules over cloud audit logs and print what they detect.
    #[command(
        long_about = "Identify: run Sigma rules over cloud audit logs and print what they detect.\n\n\
            Reads every log file under the PATHs (directories recursively; `.gz` and `.zst` \
            decompressed; `-` for stdin), recognises each record's provider log (CloudTrail, GCP \
            Cloud Audit Logs, Azure Activity, Entra ID sign-in/audit), and matches it against the \
            rules written for that log. Correlation rules run across all files in event-time \
            order.\n\n\
            Without PATHs, hunts the bundled example logs, so you can see what the output looks \
            like.",
        after_help = "Examples:\n  \
            squall hunt ./AWSLogs --rules ./sigma/rules/cloud\n  \
            squall hunt export.jsonl.gz --since 2026-10-01 --min-level high --format csv > hits.csv\n  \
            aws cloudtrail lookup-events --max-results 50 | squall hunt -\n  \
            squall hunt logs/ --fail-on-detection --quiet   # for CI gates: exit 1 on any detection\n\n\
            Output: a table on a terminal, JSON Lines when piped. Every detection names its \
            evidence: file, record index (0-based), line for JSON Lines, and the provider's event \
            id.\n\n\
            Exit codes: 0 the run completed, 1 detections with --fail-on-detection, 2 error (or \
            any warning with --strict)."
    )]
    Hunt(HuntArgs),

    /// Triage: open, list, show and annotate cases.
    #[command(subcommand)]
    Case(CaseCommand),

    /// Investigate: what the case's actors did before and after the detections.
    #[command(after_help = "Examples:\n  squall timeline C-0001\n  \
        squall timeline C-0001 --around 3 --before 2h --after 30m --pivot key,ip\n  \
        squall timeline C-0001 --format timesketch -o c-0001.jsonl   # import into Timesketch\n  \
        squall timeline C-0001 --format html -o c-0001.html")]
    Timeline(TimelineArgs),

    /// Investigate: what the case touched — keys, users, roles, instances, policies,
    /// firewalls, trails, snapshots — each change with its record, failed calls apart, and the
    /// command that acts on each.
    #[command(after_help = "Examples:\n  squall scope C-0001\n  squall scope C-0001 --format json")]
    Scope {
        case: String,
        #[arg(short, long, value_enum)]
        format: Option<Format>,
    },

    /// Contain and recover: the case proposes its response from what it touched (acquire,
    /// contain, stop, undo each change, remove what the attacker made, rotate, harden), in a
    /// safe order, each step with its reason;
    /// the analyst approves or skips steps. Every proposal, approval and skip is a ledger
    /// entry.
    #[command(
        after_help = "Examples:\n  squall respond C-0001                     # propose, or show the proposal\n  \
        squall respond C-0001 --approve 1,3-7\n  squall respond C-0001 --approve all\n  \
        squall respond C-0001 --skip 4 --reason \"owner confirmed the rule is wanted\"\n  \
        squall respond C-0001 --propose            # propose again after new findings\n\n\
        squall respond C-0001 --run                # the approved steps' plans, nothing changes\n  \
        squall respond C-0001 --yes                # carry them out, in order\n\n\
        Each approved step runs through its verb, which plans from a fresh read, changes \
        nothing without --yes, verifies and records, as when run on its own; a step that \
        waits for another (a launched instance is stopped only after its acquisition) runs \
        once that one is done; a failed step stops the run."
    )]
    Respond {
        case: String,
        /// Propose again, replacing the current proposal (after a new hunt or new findings).
        #[arg(long, conflicts_with_all = ["approve", "skip"])]
        propose: bool,
        /// Approve these steps: `all`, or numbers and ranges (`1,3-7`).
        #[arg(long, value_name = "STEPS", conflicts_with = "skip")]
        approve: Option<String>,
        /// Decide against these steps (with --reason).
        #[arg(long, value_name = "STEPS", requires = "reason")]
        skip: Option<String>,
        /// Why the steps are skipped (recorded).
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
        /// With --approve or --skip: only if this is still the current proposal (step numbers
        /// name other steps once someone proposes again).
        #[arg(long, value_name = "N")]
        proposal: Option<u32>,
        /// Carry out the approved steps that are not done yet, in order, each through its verb
        /// (plan, execute, verify, record); a re-run continues where the last one stopped.
        /// Without --yes only their plans are shown.
        #[arg(long, conflicts_with_all = ["propose", "approve", "skip"])]
        run: bool,
        /// With --run: carry the plans out (implies --run).
        #[arg(long, conflicts_with_all = ["propose", "approve", "skip"])]
        yes: bool,
        /// With --run/--yes: rotate the leaked keys too, each new secret written to
        /// DIR/KEY.credentials (AWS) or DIR/KEY_ID.json (a Google service-account key file),
        /// owner-only, never overwritten, never printed or recorded; without it, rotation is
        /// left to `recover aws|gcp key --rotate`.
        #[arg(long, value_name = "DIR")]
        secret_dir: Option<std::path::PathBuf>,
        /// Resources read or changed at once.
        #[arg(long, default_value_t = 16, value_name = "N")]
        concurrency: usize,
        #[command(flatten)]
        target: squall_aws::cli::AwsTargetArgs,
        #[command(flatten)]
        gcp: squall_gcp::cli::GcpIdentityArgs,
        #[arg(short, long, value_enum)]
        format: Option<Format>,
    },

    /// Prepare: the estate inventory triage answers from (accounts, owners, data, reach).
    #[command(subcommand)]
    Inventory(InventoryCommand),

    /// Identify: fetch a provider's logs for a window into the case, hashed as evidence and
    /// checked against the provider's own integrity records; `hunt --case` then reads them.
    #[command(subcommand)]
    Collect(CollectCommand),

    /// Triage: severity from the detections and what is at stake, the standard questions
    /// answered from the inventory, and whom to ask for the rest. Recorded in the ledger.
    Triage {
        case: String,
        #[arg(short, long, value_enum)]
        format: Option<Format>,
    },

    /// Lessons learned: the postmortem — summary, triage, attacker and response timelines,
    /// detections, evidence with hashes, actions, durations and lessons.
    Report {
        case: String,
        #[arg(short, long, value_enum, default_value = "md")]
        format: ReportFormat,
        /// Write here instead of standard output.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },

    /// Chain of custody: check or export a case's hash-chained ledger.
    #[command(subcommand)]
    Ledger(LedgerCommand),

    /// Contain: cut an attacker off. Shows the plan; changes nothing without --yes.
    #[command(subcommand)]
    Contain(ContainCommand),

    /// Investigate: snapshot and image disks for the case, hashed for chain of custody.
    #[command(subcommand)]
    Acquire(AcquireCommand),

    /// Contain, undone: give an isolated resource back its recorded prior state.
    #[command(subcommand)]
    Release(ReleaseCommand),

    /// Recover: fix what the attacker used — world-open rules, leaked keys, tampered disks.
    #[command(subcommand)]
    Recover(RecoverCommand),

    /// Chain of custody: an analyst's ed25519 key for signing ledger entries.
    #[command(subcommand)]
    Key(KeyCommand),

    /// Chain of custody: record evidence files on a case with their SHA-256.
    #[command(subcommand)]
    Evidence(EvidenceCommand),
}

/// Postmortem formats.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    /// Markdown, to edit and circulate.
    Md,
    /// One self-contained HTML file, to archive.
    Html,
}

/// Timeline output formats.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimelineFormat {
    Table,
    Jsonl,
    Csv,
    /// JSON Lines that Timesketch imports (message, datetime, timestamp_desc, ...).
    Timesketch,
    /// CSV that Timesketch imports.
    TimesketchCsv,
    /// One self-contained HTML file that opens offline.
    Html,
}

#[derive(Args, Debug)]
pub struct TimelineArgs {
    pub case: String,
    /// Center on a detection (its number in `case show`, from 1) or a time.
    #[arg(long, value_name = "N|TIME")]
    pub around: Option<String>,
    /// How far back from the first detection (or --around): 90m, 24h, 7d.
    #[arg(long, value_name = "DUR", default_value = "24h")]
    pub before: String,
    /// How far after the last detection (or --around).
    #[arg(long, value_name = "DUR", default_value = "24h")]
    pub after: String,
    /// Which actors to follow: principal, ip, key, resource [default: principal,ip,key].
    #[arg(long, value_delimiter = ',')]
    pub pivot: Vec<squall_case::timeline::Pivot>,
    #[arg(short, long, value_enum)]
    pub format: Option<TimelineFormat>,
    /// Write here instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum CaseCommand {
    /// Open a case.
    New {
        /// What the incident is, in a line.
        #[arg(long)]
        title: String,
        /// informational, low, medium, high or critical.
        #[arg(long)]
        severity: Option<squall_detect::Level>,
        /// Who leads the response.
        #[arg(long)]
        owner: Option<String>,
        #[arg(short, long, value_enum)]
        format: Option<Format>,
    },
    /// List the cases.
    List {
        #[arg(short, long, value_enum)]
        format: Option<Format>,
    },
    /// Show a case: status, phase times, detections, evidence and notes.
    Show {
        case: String,
        #[arg(short, long, value_enum)]
        format: Option<Format>,
    },
    /// Add a note (findings, decisions); --lesson puts it in the postmortem's lessons learned.
    Note {
        case: String,
        text: String,
        #[arg(long)]
        lesson: bool,
    },
    /// Add a task (who does what), shown on the case and in the postmortem.
    Task {
        case: String,
        text: String,
        #[arg(long)]
        owner: Option<String>,
    },
    /// Mark a task done, with what came of it.
    Done {
        case: String,
        task: u64,
        #[arg(long, default_value = "")]
        result: String,
    },
    /// Hand a case to someone.
    Assign { case: String, owner: String },
    /// Move a case to its next phase: triaged, contained, recovered or closed. Tasks still
    /// open at recovered or closed are named in a warning.
    Status {
        case: String,
        status: String,
        /// Why, for the record.
        #[arg(long, default_value = "")]
        reason: String,
        /// Refuse to reach recovered or closed while tasks are open (exit 2).
        #[arg(long, env = "SQUALL_STRICT")]
        strict: bool,
    },
    /// Close a case. Tasks still open are named in a warning.
    Close {
        case: String,
        #[arg(long, default_value = "")]
        reason: String,
        /// Refuse to close while tasks are open (exit 2).
        #[arg(long, env = "SQUALL_STRICT")]
        strict: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum ContainCommand {
    /// AWS resources.
    #[command(subcommand)]
    Aws(squall_aws::cli::ContainAws),
    /// Google Cloud resources.
    #[command(subcommand)]
    Gcp(squall_gcp::cli::ContainGcp),
}

#[derive(Subcommand, Debug)]
pub enum ReleaseCommand {
    /// AWS resources.
    #[command(subcommand)]
    Aws(squall_aws::cli::ReleaseAws),
    /// Google Cloud resources.
    #[command(subcommand)]
    Gcp(squall_gcp::cli::ReleaseGcp),
}

#[derive(Subcommand, Debug)]
pub enum AcquireCommand {
    /// AWS resources.
    #[command(subcommand)]
    Aws(squall_aws::cli::AcquireAws),
    /// Google Cloud resources.
    #[command(subcommand)]
    Gcp(squall_gcp::cli::AcquireGcp),
}

#[derive(Subcommand, Debug)]
pub enum RecoverCommand {
    /// AWS resources.
    #[command(subcommand)]
    Aws(squall_aws::cli::RecoverAws),
    /// Google Cloud resources.
    #[command(subcommand)]
    Gcp(squall_gcp::cli::RecoverGcp),
}

#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Create a key file (never overwrites one) and print its public key.
    Generate {
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
    },
    /// Print the public key of a key file, to give to whoever verifies.
    Show { file: PathBuf },
}

#[derive(Subcommand, Debug)]
pub enum CollectCommand {
    /// AWS: CloudTrail's delivered files from the trail's bucket, and LookupEvents for gaps.
    #[command(subcommand)]
    Aws(squall_aws::cli::CollectAws),
    /// Google Cloud: Cloud Audit Logs through the Logging API.
    #[command(subcommand)]
    Gcp(squall_gcp::cli::CollectGcp),
}

#[derive(Subcommand, Debug)]
pub enum InventoryCommand {
    /// Import accounts/projects from a YAML or TOML file (schema in the README); records with
    /// the same provider and id are replaced.
    Import { file: PathBuf },
    /// Read an AWS account through its APIs: instances, security groups, IAM keys and role
    /// trusts, CloudTrail, flow logs, links back to corp; report what is wrong and store the
    /// account in the inventory (merged with what was imported).
    Aws(squall_aws::cli::InventoryArgs),
    /// Read Google Cloud projects through their APIs: labels, instances, firewall rules,
    /// service-account keys, audit-log and sink settings, flow logs, SSH keys and OS Login,
    /// emergency access, peerings and links to corp; report what is wrong and store each
    /// project in the inventory (merged with what was imported).
    Gcp(squall_gcp::cli::InventoryGcpArgs),
    /// List the inventory.
    List {
        #[arg(short, long, value_enum)]
        format: Option<Format>,
    },
}

#[derive(Subcommand, Debug)]
pub enum LedgerCommand {
    /// Check a case's ledger (or an exported file): exit 0 intact, 1 tampered.
    #[command(
        after_help = "The first bad entry is named. For an exported file, --expect-head         with the hash recorded elsewhere also catches entries cut from the end."
    )]
    Verify {
        /// The case to check in the store.
        #[arg(required_unless_present = "file")]
        case: Option<String>,
        /// Check a `ledger export` file instead.
        #[arg(long, value_name = "FILE", conflicts_with = "case")]
        file: Option<PathBuf>,
        /// The head hash the ledger must end with.
        #[arg(long, value_name = "SHA256")]
        expect_head: Option<String>,
        /// Fail unless every entry is signed (by any of --signer, if given).
        #[arg(long)]
        require_signed: bool,
        /// Public keys (hex) whose signatures are accepted.
        #[arg(long, value_name = "PUBKEY")]
        signer: Vec<String>,
    },
    /// Write a case's ledger as JSON Lines that anyone can re-verify (see the README).
    Export {
        case: String,
        /// Write here instead of standard output.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum EvidenceCommand {
    /// Hash a file (streaming SHA-256) and record it on a case.
    Add {
        case: String,
        file: PathBuf,
        /// What it is.
        #[arg(long)]
        description: String,
        /// Where it came from (host, bucket, acquisition).
        #[arg(long)]
        source: Option<String>,
    },
}

#[derive(Args, Debug)]
pub struct HuntArgs {
    /// Log files or directories to read; `-` reads standard input.
    pub paths: Vec<PathBuf>,

    /// Folder (or file) of Sigma rules, e.g. SigmaHQ's rules/cloud; repeat for several.
    #[arg(
        short,
        long = "rules",
        value_name = "DIR",
        env = "SQUALL_RULES",
        value_delimiter = ':'
    )]
    pub rules: Vec<PathBuf>,

    /// Do not load Squall's built-in rule pack.
    #[arg(long, env = "SQUALL_NO_BUILTIN")]
    pub no_builtin: bool,

    /// Output format [default: table on a terminal, jsonl otherwise].
    #[arg(short, long, value_enum, env = "SQUALL_FORMAT")]
    pub format: Option<Format>,

    /// Only events at or after this time: RFC 3339, a date (2026-10-01), or an age (90m, 24h, 7d).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,

    /// Only events before this time (same forms as --since).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,

    /// Only report detections of this level or above.
    #[arg(long, value_name = "LEVEL", env = "SQUALL_MIN_LEVEL")]
    pub min_level: Option<squall_detect::Level>,

    /// Treat every record as this log instead of recognising it by shape:
    /// cloudtrail, gcp-audit, azure-activity, azure-signin, azure-audit, azure-risk.
    #[arg(long, value_name = "LOG")]
    pub input_format: Option<squall_logs::LogSource>,

    /// Turn warnings (bad input, unusable rules) into a failing exit code (2).
    #[arg(long, env = "SQUALL_STRICT")]
    pub strict: bool,

    /// Exit with 1 when anything is detected (for scripts and CI gates).
    #[arg(long)]
    pub fail_on_detection: bool,

    /// No progress bar and no summary; warnings and results still print.
    #[arg(short, long)]
    pub quiet: bool,

    /// Worker threads [default: one per core].
    #[arg(short = 'j', long, value_name = "N", env = "SQUALL_THREADS")]
    pub threads: Option<usize>,

    /// Attach the detections to this case (each detection at most once).
    #[arg(long, value_name = "CASE", conflicts_with = "new_case")]
    pub case: Option<String>,

    /// Open a new case for the detections, titled TITLE (or after the hunt's time).
    #[arg(long, value_name = "TITLE", num_args = 0..=1, default_missing_value = "")]
    pub new_case: Option<String>,

    /// Largest single record accepted, in MiB; bounds memory on hostile input (each reading
    /// thread may hold about twice this at once).
    #[arg(long, value_name = "MIB", default_value_t = 256)]
    pub max_record_mib: usize,

    /// Print at most this many warnings (all are counted in the summary).
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub max_warnings: u64,

    /// AWS's published IP ranges (its ip-ranges.json) that the stolen-credential detector
    /// places addresses with, instead of the dated copy shipped with Squall.
    #[arg(long, value_name = "FILE", env = "SQUALL_AWS_IP_RANGES")]
    pub aws_ip_ranges: Option<PathBuf>,
}
