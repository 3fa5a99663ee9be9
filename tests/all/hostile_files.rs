//! Hostile stack files through the real binary: paths that reach out of the
//! repository (`..`, absolute, `/proc`, links, a FIFO, a device, a
//! directory), control characters in one-line fields, secrets in user data
//! next to an error, live resources tagged for a stack with a bad name tag,
//! and an error repeated by `count`. Each refusal is exit 1 with the exact
//! diagnostics a person reads (snapshots, the temporary directory shown as
//! `<tmp>`), the same for `validate` and `plan`, and no EC2 request at all:
//! `AWS_ENDPOINT_URL` is a recording proxy whose upstream does not listen.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};

use crate::engine::IMAGE;
use crate::support::{Ec2Proxy, Moto};

const BIN: &str = env!("CARGO_BIN_EXE_ec2-gitops");
/// README, "Exit codes": 1 is an error.
const EXIT_ERROR: i32 = 1;
/// A guard against a hang (a FIFO opened for reading blocks), not a timing
/// assertion.
const TIME_LIMIT: Duration = Duration::from_secs(60);
/// Nothing listens on the discard port.
const NOWHERE: &str = "http://127.0.0.1:9";

/// What one run of the binary did.
struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs the binary in `dir`, EC2 being `endpoint`; kills it after
/// [`TIME_LIMIT`].
fn run(dir: &Path, args: &[&str], endpoint: &str) -> Outcome {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("stdout piped")));
    let stderr = drain(Box::new(child.stderr.take().expect("stderr piped")));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the binary") {
            break status;
        }
        if started.elapsed() > TIME_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "`ec2-gitops {}` did not finish in {TIME_LIMIT:?}",
                args.join(" ")
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Outcome {
        code: status.code(),
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

/// A temporary Git work tree (`git init` makes more, but a `.git` entry is
/// what marks one) at `<tmp>/repo`, with `outside.sh` next to it, outside.
struct Repo {
    tmp: tempfile::TempDir,
}

impl Repo {
    fn new() -> Repo {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("repo/.git")).unwrap();
        std::fs::create_dir_all(tmp.path().join("repo/infra/web")).unwrap();
        std::fs::create_dir_all(tmp.path().join("repo/cloud-init")).unwrap();
        std::fs::write(
            tmp.path().join("repo/cloud-init/web.sh"),
            "#!/bin/sh\necho web\n",
        )
        .unwrap();
        std::fs::write(tmp.path().join("outside.sh"), "TOKEN=outside-secret\n").unwrap();
        Repo { tmp }
    }

    fn root(&self) -> PathBuf {
        self.tmp.path().join("repo")
    }

    /// Writes `infra/web/stack.yaml`.
    fn stack(&self, yaml: &str) -> &Self {
        std::fs::write(self.root().join("infra/web/stack.yaml"), yaml).unwrap();
        self
    }

    /// Text with the temporary directory shown as `<tmp>`.
    fn scrub(&self, text: &str) -> String {
        let canonical = std::fs::canonicalize(self.tmp.path()).unwrap();
        text.replace(&canonical.display().to_string(), "<tmp>")
            .replace(&self.tmp.path().display().to_string(), "<tmp>")
    }

    /// Runs `validate` and `plan` on the stack; both must refuse it the same
    /// way without an EC2 request. Returns what they print.
    fn refused(&self) -> String {
        let proxy = Ec2Proxy::start(NOWHERE);
        let mut texts = Vec::new();
        for command in ["validate", "plan"] {
            let o = run(
                &self.root(),
                &[command, "infra/web/stack.yaml"],
                &proxy.endpoint(),
            );
            let all = format!(
                "{command}: exit {:?}\nstdout:\n{}\nstderr:\n{}",
                o.code, o.stdout, o.stderr
            );
            assert!(!o.stderr.contains("panicked"), "{all}");
            assert_eq!(o.code, Some(EXIT_ERROR), "{all}");
            assert_eq!(o.stdout, "", "{all}");
            assert_eq!(
                proxy.total(),
                0,
                "EC2 was called: {:?}\n{all}",
                proxy.actions()
            );
            assert!(
                !o.stderr.contains("outside-secret"),
                "a file's content: {all}"
            );
            texts.push(self.scrub(&o.stderr));
        }
        assert_eq!(texts[0], texts[1], "plan reports what validate reports");
        texts.remove(0)
    }
}

/// A stack with one instance whose user data is the file `path`.
fn with_user_data_file(path: &str) -> String {
    format!(
        "version: 1\nstack: web\nregion: us-east-1\ninstances:\n  web:\n    image: {IMAGE}\n    type: t3.micro\n    user_data_file: {path}\n"
    )
}

/// A stack with one instance and `extra` lines under it.
fn with_instance_lines(extra: &str) -> String {
    format!(
        "version: 1\nstack: web\nregion: us-east-1\ninstances:\n  web:\n    image: {IMAGE}\n    type: t3.micro\n{extra}"
    )
}

#[test]
fn proc_self_environ_is_refused() {
    let repo = Repo::new();
    repo.stack(&with_user_data_file("../../../../proc/self/environ"));
    insta::assert_snapshot!(repo.refused(), @r"
    error: user data file `../../../../proc/self/environ` is outside the repository
     --> infra/web/stack.yaml:8:21
      |
    8 |     user_data_file: ../../../../proc/self/environ
      |                     ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
      = hint: a stack reads only files inside its repository: `..` may leave the stack's folder, never the repository; copy the file into the repository

    1 error in infra/web/stack.yaml
    ");
}

#[test]
fn an_absolute_path_is_refused() {
    let repo = Repo::new();
    repo.stack(&with_user_data_file("/etc/passwd"));
    insta::assert_snapshot!(repo.refused(), @r#"
    error: `user_data_file` must be a path relative to this YAML file, found "/etc/passwd"
     --> infra/web/stack.yaml:8:21
      |
    8 |     user_data_file: /etc/passwd
      |                     ^^^^^^^^^^^
      = hint: a stack reads only files inside its repository: write a path relative to this YAML file, e.g. `cloud-init/web.yaml` or `../cloud-init/web.yaml`

    1 error in infra/web/stack.yaml
    "#);
}

#[test]
fn dot_dot_out_of_the_repository_is_refused_though_the_file_exists() {
    let repo = Repo::new();
    repo.stack(&with_user_data_file("../../../outside.sh"));
    insta::assert_snapshot!(repo.refused(), @r"
    error: user data file `../../../outside.sh` is outside the repository
     --> infra/web/stack.yaml:8:21
      |
    8 |     user_data_file: ../../../outside.sh
      |                     ^^^^^^^^^^^^^^^^^^^
      = hint: a stack reads only files inside its repository: `..` may leave the stack's folder, never the repository; copy the file into the repository

    1 error in infra/web/stack.yaml
    ");
}

#[test]
fn a_link_in_the_repository_to_a_file_outside_is_refused() {
    let repo = Repo::new();
    std::os::unix::fs::symlink(
        repo.tmp.path().join("outside.sh"),
        repo.root().join("infra/web/init.sh"),
    )
    .unwrap();
    repo.stack(&with_user_data_file("init.sh"));
    insta::assert_snapshot!(repo.refused(), @r"
    error: user data file `init.sh` is a symbolic link (or goes through one) to a file outside the repository
     --> infra/web/stack.yaml:8:21
      |
    8 |     user_data_file: init.sh
      |                     ^^^^^^^
      = hint: a stack reads only files inside its repository, links followed: replace the link with the file itself

    1 error in infra/web/stack.yaml
    ");
}

#[test]
fn a_fifo_is_refused_without_hanging() {
    let repo = Repo::new();
    let fifo = std::ffi::CString::new(
        repo.root()
            .join("infra/web/init.sh")
            .into_os_string()
            .into_encoded_bytes(),
    )
    .unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo only creates the file.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    repo.stack(&with_user_data_file("init.sh"));
    insta::assert_snapshot!(repo.refused(), @r"
    error: user data file `init.sh` is a named pipe (FIFO), not a regular file
     --> infra/web/stack.yaml:8:21
      |
    8 |     user_data_file: init.sh
      |                     ^^^^^^^
      = hint: user data is read from regular files only: name a file

    1 error in infra/web/stack.yaml
    ");
}

#[test]
fn a_directory_is_refused() {
    let repo = Repo::new();
    repo.stack(&with_user_data_file("../../cloud-init"));
    insta::assert_snapshot!(repo.refused(), @r"
    error: user data file `../../cloud-init` is a directory, not a regular file
     --> infra/web/stack.yaml:8:21
      |
    8 |     user_data_file: ../../cloud-init
      |                     ^^^^^^^^^^^^^^^^
      = hint: user data is read from regular files only: name a file

    1 error in infra/web/stack.yaml
    ");
}

#[test]
fn a_device_through_a_link_is_refused() {
    let repo = Repo::new();
    std::os::unix::fs::symlink("/dev/zero", repo.root().join("infra/web/zero")).unwrap();
    repo.stack(&with_user_data_file("zero"));
    insta::assert_snapshot!(repo.refused(), @r"
    error: user data file `zero` is a symbolic link (or goes through one) to a file outside the repository
     --> infra/web/stack.yaml:8:21
      |
    8 |     user_data_file: zero
      |                     ^^^^
      = hint: a stack reads only files inside its repository, links followed: replace the link with the file itself

    1 error in infra/web/stack.yaml
    ");
}

#[test]
fn dot_dot_out_of_the_stack_folder_but_inside_the_repository_works() {
    let repo = Repo::new();
    repo.stack(&with_user_data_file("../../cloud-init/web.sh"));
    let proxy = Ec2Proxy::start(NOWHERE);
    let o = run(
        &repo.root(),
        &["validate", "infra/web/stack.yaml"],
        &proxy.endpoint(),
    );
    assert_eq!(o.code, Some(0), "{}\n{}", o.stdout, o.stderr);
    assert_eq!(proxy.total(), 0);
    // From another directory, naming the stack by an absolute path: the
    // repository is found from the stack file, not the working directory.
    let stack = repo.root().join("infra/web/stack.yaml");
    let o = run(
        repo.tmp.path(),
        &["validate", stack.to_str().unwrap()],
        &proxy.endpoint(),
    );
    assert_eq!(o.code, Some(0), "{}\n{}", o.stdout, o.stderr);
}

#[test]
fn without_a_git_work_tree_dot_dot_is_refused_and_the_hint_says_why() {
    let repo = Repo::new();
    std::fs::remove_dir(repo.root().join(".git")).unwrap();
    // The temporary directory must not be inside a work tree itself.
    assert!(
        repo.root()
            .ancestors()
            .all(|a| std::fs::symlink_metadata(a.join(".git")).is_err())
    );
    repo.stack(&with_user_data_file("../../cloud-init/web.sh"));
    insta::assert_snapshot!(repo.refused(), @r"
    error: user data file `../../cloud-init/web.sh` is outside the stack file's folder
     --> infra/web/stack.yaml:8:21
      |
    8 |     user_data_file: ../../cloud-init/web.sh
      |                     ^^^^^^^^^^^^^^^^^^^^^^^
      = hint: no Git work tree holds this stack file, so it reads only files in its own folder: move the file there, or keep the stack in a Git repository (`git init`), where `..` may leave the stack's folder but not the repository

    1 error in infra/web/stack.yaml
    ");
}

#[test]
fn a_stack_file_linked_from_outside_is_not_read() {
    let repo = Repo::new();
    std::fs::write(
        repo.tmp.path().join("evil.yaml"),
        with_user_data_file("../repo/cloud-init/web.sh"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        repo.tmp.path().join("evil.yaml"),
        repo.root().join("infra/web/stack.yaml"),
    )
    .unwrap();
    insta::assert_snapshot!(repo.refused(), @r"
    error: the stack file is a symbolic link (or goes through one) to a file outside the repository; it was not read
     --> infra/web/stack.yaml:1:1
      = hint: a stack reads only files inside its repository, links followed: replace the link with the file itself

    1 error in infra/web/stack.yaml
    ");
}

#[test]
fn a_multi_line_tag_value_is_refused() {
    let repo = Repo::new();
    repo.stack(&with_instance_lines(
        "    tags:\n      role: |\n        web\n        db\n",
    ));
    insta::assert_snapshot!(repo.refused(), @r"
    error: the value of tag `role` contains a line break (U+000A)
      --> infra/web/stack.yaml:10:9
       = hint: the value of tag `role` is one line: remove the line break (only `user_data` holds several lines)

    1 error in infra/web/stack.yaml
    ");
}

#[test]
fn a_tag_with_an_osc_8_link_sequence_is_refused() {
    let repo = Repo::new();
    repo.stack(&with_instance_lines(
        "    tags: { role: \"\\e]8;;https://evil.example/\\e\\\\web\\e]8;;\\e\\\\\" }\n",
    ));
    insta::assert_snapshot!(repo.refused(), @r#"
    error: the value of tag `role` contains the control character U+001B
     --> infra/web/stack.yaml:8:19
      |
    8 |     tags: { role: "\e]8;;https://evil.example/\e\\web\e]8;;\e\\" }
      |                   ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
      = hint: remove it: control characters (escape sequences, NUL) can change what a terminal or a log shows

    1 error in infra/web/stack.yaml
    "#);
}

#[test]
fn a_tag_with_a_bidirectional_override_is_refused() {
    let repo = Repo::new();
    repo.stack(&with_instance_lines(
        "    tags: { owner: \"ops\\u202Etxt.exe\" }\n",
    ));
    insta::assert_snapshot!(repo.refused(), @r#"
    error: the value of tag `owner` contains the invisible or text-direction character U+202E
     --> infra/web/stack.yaml:8:20
      |
    8 |     tags: { owner: "ops\u202Etxt.exe" }
      |                    ^^^^^^^^^^^^^^^^^^^
      = hint: remove it: one-line fields refuse bidirectional-text controls and zero-width characters, which can make text read differently than it is ("Trojan Source")

    1 error in infra/web/stack.yaml
    "#);
}

#[test]
fn a_description_with_a_carriage_return_is_refused() {
    let repo = Repo::new();
    repo.stack(
        "version: 1\nstack: web\nregion: us-east-1\nsecurity_groups:\n  web:\n    description: \"Public HTTP\\r::error::forged\"\n",
    );
    insta::assert_snapshot!(repo.refused(), @r#"
    error: `description` contains a line break (U+000D)
     --> infra/web/stack.yaml:6:18
      |
    6 |     description: "Public HTTP\r::error::forged"
      |                  ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
      = hint: `description` is one line: remove the line break (only `user_data` holds several lines)

    1 error in infra/web/stack.yaml
    "#);
}

#[test]
fn a_nul_in_a_name_is_refused() {
    let repo = Repo::new();
    repo.stack(&format!(
        "version: 1\nstack: web\nregion: us-east-1\ninstances:\n  \"web\\0\":\n    image: {IMAGE}\n    type: t3.micro\n"
    ));
    insta::assert_snapshot!(repo.refused(), @r#"
    error: the instance name contains the control character U+0000
     --> infra/web/stack.yaml:5:3
      |
    5 |   "web\0":
      |   ^^^^^^^
      = hint: remove it: control characters (escape sequences, NUL) can change what a terminal or a log shows

    1 error in infra/web/stack.yaml
    "#);
}

#[test]
fn a_yaml_error_inside_user_data_quotes_none_of_it() {
    let repo = Repo::new();
    repo.stack(&with_instance_lines(
        "    user_data: |\n      #!/bin/sh\n      export DB_PASSWORD=hunter2\n     export API_TOKEN=tok-123\n",
    ));
    let text = repo.refused();
    assert!(
        !text.contains("hunter2") && !text.contains("tok-123"),
        "{text}"
    );
    insta::assert_snapshot!(text, @r"
    error: expected a `key: value` line at this indentation
      --> infra/web/stack.yaml:11:6
       = hint: check the indentation

    1 error in infra/web/stack.yaml
    ");
}

#[test]
fn a_bad_field_of_a_count_entry_is_one_diagnostic() {
    let repo = Repo::new();
    repo.stack(&format!(
        "version: 1\nstack: web\nregion: us-east-1\ninstances:\n  web:\n    count: 3\n    image: {IMAGE}\n    type: t3.Micro\n"
    ));
    insta::assert_snapshot!(repo.refused(), @r"
    error: `t3.Micro` is not a valid instance type
     --> infra/web/stack.yaml:8:11
      |
    8 |     type: t3.Micro
      |           ^^^^^^^^
      = hint: instance types are lowercase: `t3.micro`

    1 error in infra/web/stack.yaml
    ");
}

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build()
}

/// Instances EC2 holds with the stack tag and these tags, by id.
async fn live_instance_states(c: &aws_sdk_ec2::Client, stack: &str) -> Vec<(String, String)> {
    let out = c
        .describe_instances()
        .filters(
            Filter::builder()
                .name("tag:ec2-gitops:stack")
                .values(stack)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let mut found: Vec<(String, String)> = out
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .map(|i| {
            (
                i.instance_id().unwrap().to_string(),
                i.state()
                    .and_then(|s| s.name())
                    .unwrap()
                    .as_str()
                    .to_string(),
            )
        })
        .collect();
    found.sort();
    found
}

#[tokio::test(flavor = "multi_thread")]
async fn a_live_instance_with_a_bad_name_tag_is_warned_about_and_never_touched() {
    let moto = Moto::start();
    let proxy = Ec2Proxy::start(&moto.endpoint());
    let c = moto.ec2_client("us-east-1");
    // Tagged for the stack by someone with tag rights: a name hiding a
    // text-direction control, a name no stack can have, another kind's
    // name, no name tag at all. (A raw ESC is no test here: EC2's XML
    // cannot carry it.)
    let mut planted: Vec<(&str, String)> = Vec::new();
    for (label, name) in [
        ("<bidi>", Some("instance/web\u{202e}1")),
        ("<bad-name>", Some("instance/Web_1")),
        ("<volume-name>", Some("volume/web/data")),
        ("<no-name>", None),
    ] {
        let mut tags = TagSpecification::builder()
            .resource_type(ResourceType::Instance)
            .tags(tag("ec2-gitops:stack", "web"));
        if let Some(n) = name {
            tags = tags.tags(tag("ec2-gitops:name", n));
        }
        let out = c
            .run_instances()
            .image_id(IMAGE)
            .instance_type("t3.micro".into())
            .min_count(1)
            .max_count(1)
            .tag_specifications(tags.build())
            .send()
            .await
            .unwrap();
        let id = out.instances()[0].instance_id().unwrap().to_string();
        planted.push((label, id));
    }
    let repo = Repo::new();
    repo.stack(&with_instance_lines(""));
    let stack = "infra/web/stack.yaml";

    let plan = run(&repo.root(), &["plan", stack], &proxy.endpoint());
    assert_eq!(plan.code, Some(0), "{}\n{}", plan.stdout, plan.stderr);
    let mut warnings: Vec<String> = plan
        .stdout
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .map(|l| {
            planted.iter().fold(l.to_string(), |l, (label, id)| {
                l.replace(id.as_str(), label)
            })
        })
        .collect();
    warnings.sort();
    insta::assert_snapshot!(warnings.join("\n"), @"
    warning: instance.<bad-name>: <bad-name> carries `ec2-gitops:stack=web` but its `ec2-gitops:name` tag holds a name that breaks the name rules (lowercase letters, digits and `-`, at most 63 characters): it is not managed and will not be touched; tag it `ec2-gitops:name=instance/<name>` or remove the stack tag
    warning: instance.<bidi>: <bidi> carries `ec2-gitops:stack=web` but its `ec2-gitops:name` tag holds control, invisible or text-direction characters: it is not managed and will not be touched; tag it `ec2-gitops:name=instance/<name>` or remove the stack tag
    warning: instance.<no-name>: <no-name> carries `ec2-gitops:stack=web` but has no `ec2-gitops:name` tag: it is not managed and will not be touched; tag it `ec2-gitops:name=instance/<name>` or remove the stack tag
    warning: instance.<volume-name>: <volume-name> carries `ec2-gitops:stack=web` but its `ec2-gitops:name` tag names a volume, and it is an instance: it is not managed and will not be touched; tag it `ec2-gitops:name=instance/<name>` or remove the stack tag
    ");
    assert!(plan.stdout.contains("1 to create"), "{}", plan.stdout);

    proxy.clear();
    let apply = run(
        &repo.root(),
        &["apply", "--auto-approve", stack],
        &proxy.endpoint(),
    );
    assert_eq!(apply.code, Some(0), "{}\n{}", apply.stdout, apply.stderr);
    for r in proxy.requests() {
        let touches = planted
            .iter()
            .any(|(_, id)| r.params.iter().any(|(_, v)| v == id));
        let reads = crate::support::is_read(&r.action);
        assert!(!touches || reads, "apply touched a planted instance: {r:?}");
    }
    let states = live_instance_states(&c, "web").await;
    for (_, id) in &planted {
        let state = states
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, s)| s.as_str());
        assert_eq!(state, Some("running"), "{states:?}");
    }
    // The stack's own instance was made, and the planted ones are still
    // only warnings. (The text of a plan without changes shows no warnings
    // yet; the JSON plan holds them.)
    let again = run(
        &repo.root(),
        &["plan", "--format", "json", stack],
        &proxy.endpoint(),
    );
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    let json: serde_json::Value = serde_json::from_str(&again.stdout).unwrap();
    let plan = &json["plans"][0];
    assert_eq!(plan["changes"].as_array().map(Vec::len), Some(0), "{plan}");
    let warned: Vec<&str> = plan["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w["resource"]["name"].as_str())
        .collect();
    let mut ids: Vec<&str> = planted.iter().map(|(_, id)| id.as_str()).collect();
    ids.sort();
    assert_eq!(warned, ids, "{plan}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_error_of_a_count_entry_is_reported_once() {
    let moto = Moto::start();
    let proxy = Ec2Proxy::start(&moto.endpoint());
    let repo = Repo::new();
    repo.stack(
        "version: 1\nstack: web\nregion: us-east-1\ninstances:\n  web:\n    count: 3\n    image: ami-0123456789abcdef0\n    type: t3.micro\n",
    );
    let o = run(
        &repo.root(),
        &["plan", "infra/web/stack.yaml"],
        &proxy.endpoint(),
    );
    assert_eq!(o.code, Some(EXIT_ERROR), "{}\n{}", o.stdout, o.stderr);
    assert!(
        !proxy.actions().iter().any(|a| !crate::support::is_read(a)),
        "{:?}",
        proxy.actions()
    );
    insta::assert_snapshot!(o.stdout, @"
    Stack web (us-east-1) — infra/web/stack.yaml
      error: infra/web/stack.yaml:5:3: `instances.web` (3 instances): image ami-0123456789abcdef0 does not exist in us-east-1 (or is not visible to this account)
          hint: AMI ids differ per region: look the image up in this region

    The plan cannot be applied until these errors are fixed.
    ");
}

/// Through the action, as a pull request: a stack naming the runner's
/// environment as user data gets the error on the PR, and nothing of the
/// environment (the GitHub token, the AWS secret) reaches EC2, the
/// comment, the summary or the log.
#[tokio::test(flavor = "multi_thread")]
async fn a_pull_request_naming_proc_self_environ_is_refused_in_its_comment() {
    use crate::action::{HEAD, World};
    let w = World::new("ghf");
    // A checkout: actions/checkout leaves `.git` in the workspace.
    std::fs::create_dir_all(w.dir.path().join(".git")).unwrap();
    std::fs::write(
        w.dir.path().join("infra/web.yaml"),
        with_user_data_file("../../../../../../../proc/self/environ")
            .replace("stack: web", "stack: ghf"),
    )
    .unwrap();
    w.pull(61, HEAD, &["infra/web.yaml"]);
    let r = w.run("pull_request", w.pr_event("opened", 61, HEAD), HEAD);
    assert_eq!(r.code(), Some(EXIT_ERROR), "{}", r.text());
    assert_eq!(
        w.proxy.total(),
        0,
        "EC2 was called: {:?}",
        w.proxy.actions()
    );
    assert_eq!(w.gh.unexpected(), Vec::<String>::new(), "{}", r.text());
    let comments = w.bot_comments(61);
    assert_eq!(comments.len(), 1, "{comments:?}");
    let body = &comments[0].body;
    assert!(
        body.contains("is outside the repository"),
        "the comment says why: {body}"
    );
    for secret in ["ghs_test", "AWS_SECRET_ACCESS_KEY", "GITHUB_EVENT_PATH"] {
        for (what, text) in [
            ("comment", body.as_str()),
            ("summary", r.summary.as_str()),
            ("log", &r.text()),
        ] {
            assert!(!text.contains(secret), "{secret} in the {what}:\n{text}");
        }
    }
}
