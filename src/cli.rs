//! The command line: parses arguments, wires config, EC2, plan and render
//! together, and turns the outcome into an exit code.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};

use crate::ec2::Ec2;
use crate::model::Desired;
use crate::outcome::{Refusal, StackApply, Verdict};
use crate::plan::Plan;
use crate::{app, config, render, workspace};

/// Exit code: success, no changes.
const EXIT_OK: u8 = 0;
/// Exit code: an error (invalid config included).
const EXIT_ERROR: u8 = 1;
/// Exit code with `--detailed-exitcode`: changes pending.
const EXIT_CHANGES: u8 = 2;

/// EC2 infrastructure as YAML: validate, plan and apply stacks.
#[derive(Debug, Parser)]
#[command(name = "ec2-gitops", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// The accounts stacks may name (`account: NAME`), each mapped to the
    /// role to assume: `NAME: { role: arn:aws:iam::…:role/…, external_id,
    /// session_duration, environments }` (YAML or JSON). Trusted
    /// configuration: never a stack file.
    #[arg(long, global = true, value_name = "FILE")]
    accounts: Option<PathBuf>,
}

/// Output formats of `plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Terminal text (colour on a TTY unless NO_COLOR is set).
    Text,
    /// The pull-request comment body.
    Markdown,
    /// Stable JSON (see the README).
    Json,
    /// The plan as a Mermaid flowchart: every resource, its references, its
    /// change (the picture in the pull-request comment).
    Mermaid,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check stack files without calling AWS.
    Validate {
        /// Stack files, directories or globs [default: infra/**/*.yaml]
        paths: Vec<String>,
        /// Also print errors as GitHub Actions `::error` annotations.
        #[arg(long)]
        github_annotations: bool,
    },
    /// Print a stack file with the base files it extends merged in, each
    /// value followed by the file and line it was written at.
    Resolve {
        /// The stack file.
        file: std::path::PathBuf,
    },
    /// Compare stack files with live EC2 and show what apply would do.
    Plan {
        /// Stack files, directories or globs [default: infra/**/*.yaml]
        paths: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Also write the plan as JSON to this file (for `apply --plan`).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Exit 0 when there are no changes, 2 when there are, 1 on error.
        #[arg(long)]
        detailed_exitcode: bool,
        /// Read the stack files as they were at this Git revision (a
        /// commit, tag or `HEAD~1`), with git; nothing is checked out.
        #[arg(long, value_name = "REV")]
        at: Option<String>,
    },
    /// Re-plan, then make EC2 match the stack files.
    Apply {
        /// Stack files, directories or globs [default: infra/**/*.yaml]
        paths: Vec<String>,
        /// Do not ask for confirmation.
        #[arg(long)]
        auto_approve: bool,
        /// Apply only if the fresh plan has this reviewed plan's fingerprint
        /// (from `plan --out`); no confirmation is asked then. A file whose
        /// changes no longer hash to its fingerprint is refused as tampered.
        #[arg(long, value_name = "FILE")]
        plan: Option<PathBuf>,
        /// Apply the stack files as they were at this Git revision (a
        /// commit, tag or `HEAD~1`): the way back to an earlier state, read
        /// with git; nothing is checked out.
        #[arg(long, value_name = "REV")]
        at: Option<String>,
    },
    /// Print the JSON Schema of the stack file format.
    Schema,
    /// Print the least-privilege IAM policies of the workflows' AWS roles,
    /// made from the tool's table of every EC2 operation it calls.
    Iam {
        #[command(subcommand)]
        what: IamCommand,
    },
    /// Write the stack YAML of existing, untagged instances and what they
    /// use (groups, volumes, key pairs, elastic IPs); --apply-tags adopts them.
    Import {
        /// Name of the new stack.
        #[arg(long)]
        stack: String,
        /// AWS region [default: AWS_REGION or AWS_DEFAULT_REGION]
        #[arg(long)]
        region: Option<String>,
        /// Which instances: `tag:KEY=VALUE`, `instance-id=i-1,i-2`, or any
        /// DescribeInstances filter as NAME=VALUE[,VALUE]; repeat to narrow.
        #[arg(long, value_name = "FILTER", required = true)]
        filter: Vec<String>,
        /// A load balancer to take too, with its listeners and the target
        /// groups they forward to: its ARN, its name, or `tag:KEY=VALUE`;
        /// repeat for more. Every server of those groups must be imported.
        #[arg(long = "load-balancer", value_name = "LB")]
        load_balancer: Vec<String>,
        /// Write the YAML to this file instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Adopt the resources: add the stack's ownership tags to each.
        #[arg(long)]
        apply_tags: bool,
    },
    /// Handle the GitHub Actions event of this run (what the action's
    /// container runs): reads GITHUB_* and INPUT_* variables.
    Action,
}

/// The roles of the example workflows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum IamRole {
    /// Plans and drift checks: reads only.
    Plan,
    /// Merges and `/apply`: every change.
    Apply,
    /// `/preview` and the clean-up of previews: changes only to resources
    /// carrying the preview tag.
    Preview,
    /// `import --apply-tags`: reads and the adopting tags.
    Import,
}

impl From<IamRole> for crate::iam::Role {
    fn from(r: IamRole) -> Self {
        match r {
            IamRole::Plan => Self::Plan,
            IamRole::Apply => Self::Apply,
            IamRole::Preview => Self::Preview,
            IamRole::Import => Self::Import,
        }
    }
}

#[derive(Debug, Subcommand)]
enum IamCommand {
    /// The identity policy (permissions) of a role, as JSON.
    Policy {
        /// The role.
        #[arg(long, value_enum)]
        role: IamRole,
        /// The AWS partition of the ARNs (`aws-cn`, `aws-us-gov`).
        #[arg(long, default_value = "aws")]
        partition: String,
    },
    /// The trust policy of a role for GitHub's OIDC provider, as JSON.
    Trust {
        /// The role.
        #[arg(long, value_enum)]
        role: IamRole,
        /// The repository whose workflows assume it (`owner/name`).
        #[arg(long, value_name = "OWNER/NAME")]
        repo: String,
        /// The AWS account that holds the OIDC provider.
        #[arg(long, value_name = "ID")]
        account: String,
        /// The repository's default branch.
        #[arg(long, default_value = "main")]
        branch: String,
        /// A GitHub Environment whose jobs assume the role (repeat).
        #[arg(long = "environment", value_name = "NAME")]
        environments: Vec<String>,
    },
}

impl Cli {
    /// Whether the command is `ec2-gitops action` (the GitHub Action's
    /// run, which the binary's `main` hands to the action).
    pub fn is_action(&self) -> bool {
        matches!(self.command, Command::Action)
    }
}

/// Runs `work` (a command) on a runtime, as one path of work for the EC2
/// call trace, and turns its outcome into the process's exit code.
pub fn block_on(work: impl std::future::Future<Output = Result<u8>>) -> ExitCode {
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    match runtime.block_on(crate::ec2::trace::root("command", work)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!(
                "error: {}",
                render::escape::terminal_text(&format!("{e:#}"))
            );
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::field::MakeExt as _;
    let filter =
        EnvFilter::try_from_env("EC2_GITOPS_LOG").unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        // Field values carry EC2 and GitHub text: one line each, escaped.
        .fmt_fields(
            tracing_subscriber::fmt::format::debug_fn(|w, field, value| {
                let value = format!("{value:?}");
                let value = render::escape::terminal(&value);
                match field.name() {
                    "message" => write!(w, "{value}"),
                    name => write!(w, "{name}={value}"),
                }
            })
            .delimited(" "),
        )
        .try_init();
}

fn color_stdout() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Runs a command of the command line (every one but `action`).
pub async fn run(cli: Cli) -> Result<u8> {
    if let Some(path) = &cli.accounts {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the accounts file {}", path.display()))?;
        let origin = path.display().to_string();
        crate::ec2::accounts::set(crate::config::accounts::parse(&text, &origin)?);
    }
    match cli.command {
        Command::Action => {
            bail!("`ec2-gitops action` is run by the binary's main, not the command line")
        }
        Command::Import {
            stack,
            region,
            filter,
            load_balancer,
            out,
            apply_tags,
        } => {
            let region = region
                .or_else(|| std::env::var("AWS_REGION").ok())
                .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
                .ok_or_else(|| anyhow::anyhow!("no region: pass --region or set AWS_REGION"))?;
            let target = ImportTarget {
                filters: &filter,
                balancers: &load_balancer,
            };
            import(&stack, &region, target, out.as_deref(), apply_tags).await
        }
        Command::Resolve { file } => {
            let yaml = match workspace::resolve_stack_file(&file) {
                Ok(yaml) => yaml,
                Err(diags) => {
                    eprint!("{}", render::diagnostics::text(&diags));
                    return Ok(EXIT_ERROR);
                }
            };
            print!("{}", render::escape::terminal_text(&yaml));
            // Printed as resolved; what is wrong with it is said after.
            match workspace::load_stack(&file) {
                Ok(_) => Ok(EXIT_OK),
                Err(diags) => {
                    eprint!("{}", render::diagnostics::text(&diags));
                    Ok(EXIT_ERROR)
                }
            }
        }
        Command::Schema => {
            println!("{}", serde_json::to_string_pretty(&config::json_schema())?);
            Ok(EXIT_OK)
        }
        Command::Iam { what } => iam(what),
        Command::Validate {
            paths,
            github_annotations,
        } => validate(&paths, github_annotations),
        Command::Plan {
            paths,
            format,
            out,
            detailed_exitcode,
            at,
        } => {
            plan(
                &paths,
                format,
                out.as_deref(),
                detailed_exitcode,
                at.as_deref(),
            )
            .await
        }
        Command::Apply {
            paths,
            auto_approve,
            plan,
            at,
        } => {
            // The plan file is checked before anything else is read: a
            // tampered file stops the run before EC2 is asked anything.
            let reviewed = match &plan {
                Some(path) => Some(read_plan_file(path)?),
                None => None,
            };
            let Some(stacks) = load_at(&paths, at.as_deref())? else {
                return Ok(EXIT_ERROR);
            };
            apply(&stacks, auto_approve, reviewed.as_deref()).await
        }
    }
}

/// `validate`: the stack files checked, without calling AWS.
fn validate(paths: &[String], github_annotations: bool) -> Result<u8> {
    // Without `--accounts`, validate checks the files alone.
    let loaded = if crate::ec2::accounts::is_set() {
        load(paths, github_annotations)?
    } else {
        load_files(paths, github_annotations)?
    };
    let stacks = match loaded {
        Some(s) => s,
        None => return Ok(EXIT_ERROR),
    };
    for s in &stacks {
        println!(
            "{}: stack {} ({}) is valid: {} instance(s), {} security group(s), {} key pair(s), {} volume(s), {} elastic IP(s)",
            render::escape::terminal(&s.file),
            render::escape::terminal(&s.stack),
            render::escape::terminal(&s.region),
            s.instances.len(),
            s.security_groups.len(),
            s.key_pairs.len(),
            s.volumes.len(),
            s.elastic_ips.len()
        );
    }
    Ok(EXIT_OK)
}

/// `plan`: each stack's plan, printed in `format`, and written to `out`.
async fn plan(
    paths: &[String],
    format: Format,
    out: Option<&std::path::Path>,
    detailed_exitcode: bool,
    at: Option<&str>,
) -> Result<u8> {
    let Some(stacks) = load_at(paths, at)? else {
        return Ok(EXIT_ERROR);
    };
    let mut plans = Vec::new();
    for desired in &stacks {
        let ec2 = Ec2::for_stack(desired).await?;
        let (plan, _, _) = app::plan(&ec2, desired).await?;
        plans.push(plan);
    }
    let rendered = match format {
        Format::Text => plans
            .iter()
            .map(|p| render::text::plan(p, color_stdout()))
            .collect::<Vec<_>>()
            .join("\n"),
        Format::Markdown => render::escape::log_lines(
            &plans
                .iter()
                .map(|p| render::markdown::plan(p, render::markdown::COMMENT_LIMIT))
                .collect::<Vec<_>>()
                .join("\n---\n\n"),
        ),
        Format::Json => render::json(&plans),
        Format::Mermaid => render::escape::log_lines(&render::mermaid::document(&plans)),
    };
    print!("{rendered}");
    if let Some(path) = out {
        std::fs::write(path, render::json(&plans))
            .with_context(|| format!("cannot write the plan to {}", path.display()))?;
        eprintln!("Plan written to {}", path.display());
    }
    if plans.iter().any(|p| !p.errors.is_empty()) {
        return Ok(EXIT_ERROR);
    }
    let changes = plans.iter().any(|p| !p.is_empty());
    Ok(if detailed_exitcode && changes {
        EXIT_CHANGES
    } else {
        EXIT_OK
    })
}

/// `iam`: a role's policy or trust policy, as JSON.
fn iam(what: IamCommand) -> Result<u8> {
    let json = match what {
        IamCommand::Policy { role, partition } => crate::iam::policy(role.into(), &partition),
        IamCommand::Trust {
            role,
            repo,
            account,
            branch,
            environments,
        } => {
            if let Some(problem) = crate::iam::subject_problem(&repo, &branch, &environments) {
                bail!("{problem}");
            }
            crate::iam::trust(role.into(), &account, &repo, &branch, &environments)
        }
    };
    println!("{}", serde_json::to_string_pretty(&json)?);
    Ok(EXIT_OK)
}

/// Like [`load`], from the Git revision `at` when given.
fn load_at(paths: &[String], at: Option<&str>) -> Result<Option<Vec<Desired>>> {
    let Some(rev) = at else {
        return load(paths, false);
    };
    let revision = crate::git::Revision::find(rev)?;
    eprintln!(
        "Reading the stack files as they were at {} ({}).",
        render::escape::terminal(&revision.name),
        &revision.commit[..revision.commit.len().min(12)]
    );
    let overlay = workspace::Overlay::at_revision(revision);
    let files = overlay.stack_files(paths);
    if files.is_empty() {
        bail!(workspace::nothing_found(paths));
    }
    // Without PATHs, the revision's stack files are all there are.
    let complete = paths.is_empty().then(Default::default);
    match workspace::load_stacks(&overlay, &files, complete.as_ref()).into_result() {
        Ok(stacks) => Ok(mapped(stacks, false)),
        Err(diags) => {
            eprint!("{}", render::diagnostics::text(&diags));
            Ok(None)
        }
    }
}

/// `stacks`, unless one names an account the mapping does not have (the
/// errors printed, before any call).
fn mapped(stacks: Vec<Desired>, github_annotations: bool) -> Option<Vec<Desired>> {
    let diags = crate::config::accounts::unmapped(&stacks, &crate::ec2::accounts::all());
    if diags.is_empty() {
        return Some(stacks);
    }
    eprint!("{}", render::diagnostics::text(&diags));
    if github_annotations || std::env::var_os("GITHUB_ACTIONS").is_some() {
        print!("{}", render::diagnostics::github_annotations(&diags));
    }
    None
}

/// Finds and validates the stack files, and that every account they name
/// is mapped; `None` when invalid (errors printed).
fn load(paths: &[String], github_annotations: bool) -> Result<Option<Vec<Desired>>> {
    Ok(load_files(paths, github_annotations)?.and_then(|s| mapped(s, github_annotations)))
}

/// Finds and validates the stack files; `None` when invalid (errors printed).
fn load_files(paths: &[String], github_annotations: bool) -> Result<Option<Vec<Desired>>> {
    let files = workspace::find_stack_files(paths)?;
    // `after` names are checked against every stack of the repository: the
    // ones loaded, and those under `infra/` when paths were given (a file
    // or a folder of them).
    let others = if paths.is_empty() {
        Default::default()
    } else {
        workspace::stack_names(&workspace::find_stack_files(&[]).unwrap_or_default())
    };
    match workspace::load_stacks(&workspace::Overlay::default(), &files, Some(&others))
        .into_result()
    {
        Ok(stacks) => Ok(Some(stacks)),
        Err(diags) => {
            eprint!("{}", render::diagnostics::text(&diags));
            if github_annotations || std::env::var_os("GITHUB_ACTIONS").is_some() {
                print!("{}", render::diagnostics::github_annotations(&diags));
            }
            Ok(None)
        }
    }
}

/// What `import` takes: `--filter` and `--load-balancer`, as written.
struct ImportTarget<'a> {
    filters: &'a [String],
    balancers: &'a [String],
}

async fn import(
    stack: &str,
    region: &str,
    target: ImportTarget<'_>,
    out: Option<&std::path::Path>,
    apply_tags: bool,
) -> Result<u8> {
    let filters = (target.filters.iter())
        .map(|a| crate::import::Filter::parse(a))
        .collect::<Result<Vec<_>, _>>()?;
    let balancers = (target.balancers.iter())
        .map(|a| crate::import::BalancerRef::parse(a))
        .collect::<Result<Vec<_>, _>>()?;
    let ec2 = Ec2::connect(region).await;
    let file = out.map_or("<import>".to_string(), |p| p.display().to_string());
    let prepared = app::import::prepare(&ec2, stack, region, &filters, &balancers, &file).await?;
    match out {
        Some(p) => {
            std::fs::write(p, &prepared.yaml)
                .with_context(|| format!("cannot write {}", p.display()))?;
            eprintln!("Wrote {}", p.display());
        }
        None => print!("{}", render::escape::json(&prepared.yaml)),
    }
    for (name, what) in &prepared.unexpressed {
        eprintln!(
            "note: {} has what the format cannot say: {} (kept while it runs; a replacement would not have it, and its plan says so)",
            render::escape::terminal(name),
            render::escape::terminal(&what.join("; "))
        );
    }
    if !prepared.is_exact() {
        eprint!("{}", render::text::plan(&prepared.plan, false));
        eprintln!(
            "warning: the YAML does not describe these resources exactly (see the plan above); nothing was tagged"
        );
        return Ok(EXIT_ERROR);
    }
    eprintln!(
        "Applying this stack changes nothing but tags: {} resource(s) get the ownership tags of stack {stack} (nothing replaced, nothing restarted).",
        prepared.adoptions.len()
    );
    for a in &prepared.adoptions {
        eprintln!(
            "  + tags on {} ({})",
            render::escape::terminal(&a.resource.to_string()),
            render::escape::terminal(&a.ec2_id)
        );
    }
    if !apply_tags {
        eprintln!("Run again with --apply-tags to adopt them.");
        return Ok(EXIT_OK);
    }
    let (n, after) = app::import::adopt(&ec2, &prepared).await?;
    if !after.is_empty() {
        eprint!("{}", render::text::plan(&after, false));
        bail!("adopted {n} resource(s), but the stack's plan is not empty");
    }
    eprintln!("Adopted {n} resource(s) into stack {stack}; `ec2-gitops plan` shows no changes.");
    Ok(EXIT_OK)
}

fn read_plan_file(path: &PathBuf) -> Result<Vec<Plan>> {
    #[derive(serde::Deserialize)]
    struct File {
        plans: Vec<Plan>,
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let file: File = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a plan written by `ec2-gitops plan --out`",
            path.display()
        )
    })?;
    if let Some(p) = file
        .plans
        .iter()
        .find(|p| !crate::plan::fingerprint::is_intact(p))
    {
        bail!(
            "tampered plan file: in {}, the plan of stack {:?} ({:?}) records fingerprint {:?}, but its changes hash to {}: the file was edited after `ec2-gitops plan --out` wrote it. Nothing was applied; write a new plan with `ec2-gitops plan --out` and review it",
            path.display(),
            p.stack,
            p.region,
            p.fingerprint,
            crate::plan::fingerprint::of(p)
        );
    }
    Ok(file.plans)
}

/// Applies `stacks` in their `after:` order, each plan shown first and
/// applied only once approved: by the reviewed plan file (`--plan`), by
/// the person at the terminal, or by `--auto-approve`.
async fn apply(stacks: &[Desired], auto_approve: bool, reviewed: Option<&[Plan]>) -> Result<u8> {
    // Every stack must be in the plan file before any is applied.
    if let Some(reviewed) = reviewed {
        for d in stacks {
            if !reviewed
                .iter()
                .any(|p| p.stack == d.stack && p.region == d.region)
            {
                bail!(
                    "the plan file has no plan for stack {} ({}): refusing to apply a plan nobody reviewed",
                    d.stack,
                    d.region
                );
            }
        }
    }
    let progress = crate::progress::LineProgress::new();
    let mut terminal = Terminal {
        auto_approve,
        reviewed,
        code: EXIT_OK,
    };
    let stacks: Vec<&Desired> = stacks.iter().collect();
    app::apply_stacks(&stacks, &mut terminal, &progress).await;
    progress.clear();
    Ok(terminal.code)
}

/// The command line's side of an apply: shows each plan, asks for it, and
/// says how each stack ended.
struct Terminal<'a> {
    auto_approve: bool,
    /// The plan file's plans.
    reviewed: Option<&'a [Plan]>,
    /// The exit code so far.
    code: u8,
}

impl app::Driver for Terminal<'_> {
    /// A plan file's images by reference are applied as it resolved them.
    fn pins(&self, desired: &Desired) -> Vec<(crate::model::ImageRef, String)> {
        self.reviewed
            .and_then(|r| {
                r.iter()
                    .find(|p| p.stack == desired.stack && p.region == desired.region)
            })
            .map(|p| p.images.clone())
            .unwrap_or_default()
    }

    fn judge(&mut self, _desired: &Desired, fresh: &Plan) -> Verdict {
        let old = self.reviewed.and_then(|r| {
            r.iter()
                .find(|p| p.stack == fresh.stack && p.region == fresh.region)
        });
        if let Some(old) = old
            && !crate::plan::fingerprint::approves(&old.fingerprint, fresh)
        {
            eprint!("{}", render::text::plan_changed(old, fresh));
            return Verdict::Refuse(Refusal::ChangedSinceReview {
                reviewed: old.fingerprint.clone(),
                now: fresh.fingerprint.clone(),
                moved: None,
                unreviewed: None,
            });
        }
        print!("{}", render::text::plan(fresh, color_stdout()));
        if !fresh.is_applicable() {
            eprintln!(
                "error: stack {}: this plan cannot be applied (see the errors and blocked changes above)",
                render::escape::terminal(&fresh.stack)
            );
            return Verdict::Refuse(Refusal::Blocked {
                plan: Box::new(fresh.clone()),
            });
        }
        if fresh.is_empty() {
            println!("Nothing to apply.");
            return Verdict::NoChanges;
        }
        // A reviewed plan file is the approval (as with Terraform's saved plans).
        if !self.auto_approve && self.reviewed.is_none() {
            match confirm(fresh) {
                Ok(true) => {}
                Ok(false) => {
                    eprintln!("Apply cancelled: nothing was changed.");
                    return Verdict::Refuse(Refusal::NotConfirmed);
                }
                Err(e) => {
                    eprintln!(
                        "error: {}",
                        render::escape::terminal_text(&format!("{e:#}"))
                    );
                    return Verdict::Refuse(Refusal::NotConfirmed);
                }
            }
        }
        Verdict::Apply
    }

    /// `--auto-approve` without a plan file approves whatever the plan is
    /// when the lease is held; a confirmed or reviewed plan must still be it.
    fn pinned(&self) -> bool {
        self.reviewed.is_some() || !self.auto_approve
    }

    fn clears_stale_leases(&self) -> bool {
        true
    }

    fn done(&mut self, desired: &Desired, done: &app::Done<'_>) {
        let failed = match done.result {
            StackApply::Applied {
                plan,
                results,
                seconds,
            } => {
                if done
                    .judged
                    .is_some_and(|j| !crate::plan::fingerprint::approves(&j.fingerprint, plan))
                {
                    println!(
                        "The plan changed while this apply waited for the stack's lease; applied this one:"
                    );
                    print!("{}", render::text::plan(plan, color_stdout()));
                }
                print!(
                    "{}",
                    render::report::text(&desired.stack, results, *seconds)
                );
                render::report::tally(results).failed > 0
            }
            StackApply::NoChanges { .. } => {
                // Judged worth applying, found done under the lease.
                if done.judged.is_some_and(|j| !j.is_empty()) {
                    println!(
                        "Nothing to apply: another apply of stack {} made these changes while this one waited.",
                        render::escape::terminal(&desired.stack)
                    );
                }
                if done.lease_cleared {
                    println!("Removed the apply lease a stopped run left behind.");
                }
                false
            }
            StackApply::NotApplied { refusal, .. } => {
                match (refusal, done.judged, done.moved) {
                    (Refusal::MovedUnderLease { .. }, Some(judged), Some(now)) => {
                        eprint!("{}", render::text::plan_changed(judged, now));
                    }
                    // Said when judged.
                    (
                        Refusal::ChangedSinceReview { .. }
                        | Refusal::Blocked { .. }
                        | Refusal::NotConfirmed,
                        _,
                        _,
                    ) => {}
                    (other, _, _) => eprintln!(
                        "error: stack {}: {}",
                        render::escape::terminal(&desired.stack),
                        render::escape::terminal_text(&render::comment::refusal_text(other))
                    ),
                }
                true
            }
        };
        if failed {
            self.code = EXIT_ERROR;
        }
    }
}

fn confirm(p: &Plan) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!(
            "refusing to apply stack {} without confirmation: there is no terminal to ask. Review the plan and pass --auto-approve (or --plan FILE from `plan --out`)",
            p.stack
        );
    }
    print!(
        "\nApply these changes to stack {} ({})? Only 'yes' is accepted: ",
        render::escape::terminal(&p.stack),
        render::escape::terminal(&p.region)
    );
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim() == "yes")
}
