//! Finding, reading and loading stack files on a real file system.

use super::*;

const STACK: &str = "version: 1\nstack: web\nregion: us-east-1\ninstances:\n  web:\n    image: ami-12345678\n    type: t3.micro\n    user_data_file: init/web.sh\n";

fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::create_dir_all(root.join("infra/prod/init")).unwrap();
    fs::create_dir_all(root.join("infra/.hidden")).unwrap();
    fs::write(root.join("infra/prod/web.yaml"), STACK).unwrap();
    fs::write(root.join("infra/prod/init/web.sh"), "#!/bin/sh\n").unwrap();
    fs::write(
        root.join("infra/b.yml"),
        STACK
            .replace("web\nregion", "b\nregion")
            .replace("    user_data_file: init/web.sh\n", ""),
    )
    .unwrap();
    fs::write(
        root.join("infra/a.yaml"),
        "version: 1\nstack: a\nregion: us-east-1\n",
    )
    .unwrap();
    fs::write(root.join("infra/notes.txt"), "not yaml").unwrap();
    fs::write(root.join("infra/.hidden/x.yaml"), "junk").unwrap();
    dir
}

fn names(root: &Path, files: &[PathBuf]) -> Vec<String> {
    files
        .iter()
        .map(|f| f.strip_prefix(root).unwrap().display().to_string())
        .collect()
}

#[test]
fn directories_are_searched_recursively_and_sorted() {
    let dir = tree();
    let root = dir.path();
    let files = find_stack_files(&[root.join("infra").display().to_string()]).unwrap();
    assert_eq!(
        names(root, &files),
        ["infra/a.yaml", "infra/b.yml", "infra/prod/web.yaml"]
    );
}

#[test]
fn files_and_globs_keep_argument_order_without_repeats() {
    let dir = tree();
    let root = dir.path();
    let args = [
        root.join("infra/prod/web.yaml").display().to_string(),
        root.join("infra/**/*.yaml").display().to_string(),
    ];
    let files = find_stack_files(&args).unwrap();
    assert_eq!(names(root, &files), ["infra/prod/web.yaml", "infra/a.yaml"]);
}

#[test]
fn patterns_matching_nothing_are_named() {
    let dir = tree();
    let root = dir.path();
    let args = [
        root.join("infra/a.yaml").display().to_string(),
        "nowhere/*.yaml".to_string(),
        "missing.yaml".to_string(),
    ];
    let err = find_stack_files(&args).unwrap_err().to_string();
    assert_eq!(
        err,
        "no stack file found: `nowhere/*.yaml`, `missing.yaml` match no file (stack files end in .yaml or .yml)"
    );
}

/// A base and two stacks on it, as `examples/environments/` lays them out.
fn environments() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::create_dir_all(root.join(".git")).unwrap();
    for d in ["infra/base", "infra/staging", "infra/production"] {
        fs::create_dir_all(root.join(d)).unwrap();
    }
    fs::write(
        root.join("infra/base/web.yaml"),
        "version: 1\nregion: us-east-1\ninstances:\n  web:\n    image: ami-0123456789abcdef0\n    type: t3.micro\n    user_data_file: web.sh\n",
    )
    .unwrap();
    fs::write(root.join("infra/base/web.sh"), "#!/bin/sh\n").unwrap();
    fs::write(
        root.join("infra/staging/web.yaml"),
        "extends: ../base/web.yaml\nstack: web-staging\n",
    )
    .unwrap();
    fs::write(
        root.join("infra/production/web.yaml"),
        "extends: ../base/web.yaml\nstack: web-production\ninstances:\n  web:\n    count: 4\n",
    )
    .unwrap();
    dir
}

#[test]
fn a_base_is_not_a_stack_and_a_change_to_it_touches_every_stack_on_it() {
    let dir = environments();
    let root = dir.path();
    let files = find_stack_files(&[root.join("infra").display().to_string()]).unwrap();
    assert_eq!(files.len(), 3, "the base is found like any YAML file");
    let stacks = load_stacks(&Overlay::default(), &files, None)
        .into_result()
        .unwrap();
    let names: Vec<&str> = stacks.iter().map(|s| s.stack.as_str()).collect();
    assert_eq!(names, ["web-production", "web-staging"]);
    assert_eq!(stacks[0].instances.len(), 4);
    let base = root.join("infra/base/web.yaml").display().to_string();
    let touched = crate::action::touched::touched(&stacks, &[base]);
    assert_eq!(touched.len(), 2, "both stacks extend the base");
    let user_data = root.join("infra/base/web.sh").display().to_string();
    assert_eq!(
        crate::action::touched::touched(&stacks, &[user_data]).len(),
        2,
        "and the user data the base names"
    );
    // A file without `stack:` that nothing extends is still an error.
    fs::write(
        root.join("infra/stray.yaml"),
        "version: 1\nregion: us-east-1\n",
    )
    .unwrap();
    let files = find_stack_files(&[root.join("infra").display().to_string()]).unwrap();
    let diags = load_stacks(&Overlay::default(), &files, None)
        .into_result()
        .unwrap_err();
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert!(diags[0].at.file.ends_with("infra/stray.yaml"));
    assert!(diags[0].message.contains("stack"), "{diags:#?}");
}

#[test]
fn user_data_file_is_read_next_to_the_stack() {
    let dir = tree();
    let d = load_stack(&dir.path().join("infra/prod/web.yaml")).unwrap();
    assert_eq!(d.instances["web"].user_data.as_deref(), Some("#!/bin/sh\n"));
}

#[test]
fn unreadable_and_binary_files_are_one_diagnostic() {
    let dir = tree();
    let missing = load_stack(&dir.path().join("nope.yaml")).unwrap_err();
    assert_eq!(missing.len(), 1);
    assert!(
        missing[0].message.starts_with("cannot read the file"),
        "{missing:?}"
    );
    let bin = dir.path().join("bin.yaml");
    fs::write(&bin, b"version: 1\nstack: \xff\xfe\n").unwrap();
    let diags = load_stack(&bin).unwrap_err();
    assert_eq!(diags.len(), 1);
    assert_eq!((diags[0].at.line, diags[0].at.column), (2, 8));
    assert_eq!(diags[0].message, "the file is not valid UTF-8 text");
}

#[test]
fn the_example_stack_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/web-hosting/infra/web.yaml");
    let d =
        load_stack(&path).unwrap_or_else(|e| panic!("{}", crate::render::diagnostics::text(&e)));
    let names: Vec<&str> = d.instances.keys().map(String::as_str).collect();
    assert_eq!(names, ["db", "web-1", "web-2"]);
    assert!(
        d.instances["web-1"]
            .user_data
            .as_deref()
            .is_some_and(|u| u.starts_with("#cloud-config"))
    );
    assert_eq!(d.volumes["db/data"].size_gb, 100);
}

#[test]
fn an_overlay_replaces_adds_and_removes_files() {
    let dir = tree();
    let root = dir.path();
    let at = |rel: &str| root.join(rel).display().to_string();
    let mut overlay = Overlay::default();
    overlay.put(
        &at("infra/prod/init/web.sh"),
        b"#!/bin/sh\necho head\n".to_vec(),
    );
    overlay.put(
        &at("infra/new.yaml"),
        b"version: 1\nstack: new\nregion: us-east-1\n".to_vec(),
    );
    overlay.put(&at("docs/readme.yaml"), b"not a stack".to_vec());
    overlay.remove(&at("infra/a.yaml"));
    let files = overlay.stack_files(&[at("infra/**/*.yaml")]);
    assert_eq!(
        names(root, &files),
        ["infra/prod/web.yaml", "infra/new.yaml"]
    );
    let web = overlay
        .load_stack(&root.join("infra/prod/web.yaml"))
        .unwrap();
    assert_eq!(
        web.instances["web"].user_data.as_deref(),
        Some("#!/bin/sh\necho head\n")
    );
    assert_eq!(
        overlay
            .load_stack(&root.join("infra/new.yaml"))
            .unwrap()
            .stack,
        "new"
    );
    let gone = overlay.load_stack(&root.join("infra/a.yaml")).unwrap_err();
    assert!(
        gone[0].message.contains("removed by the pull request"),
        "{gone:?}"
    );
    // Binary content from GitHub gets the same diagnostic as on disk.
    overlay.put(&at("infra/a.yaml"), b"version: 1\nstack: \xff\n".to_vec());
    let bin = overlay.load_stack(&root.join("infra/a.yaml")).unwrap_err();
    assert_eq!(bin[0].message, "the file is not valid UTF-8 text");
}

#[test]
fn stack_paths_follow_globs_directories_and_files() {
    let pats = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert!(is_stack_path("infra/a/b.yaml", &pats(&["infra/**/*.yaml"])));
    assert!(is_stack_path("./infra/b.yml", &pats(&["infra"])));
    assert!(is_stack_path("stack.yaml", &pats(&["./stack.yaml"])));
    assert!(!is_stack_path("infra/a/b.yaml", &pats(&["infra/*.yaml"])));
    assert!(!is_stack_path(
        "infra/.hidden.yaml",
        &pats(&["infra/*.yaml"])
    ));
    assert!(!is_stack_path("infra/notes.txt", &pats(&["infra"])));
}

#[test]
fn same_stack_and_region_twice_is_an_error() {
    let dir = tree();
    let root = dir.path();
    let copy = root.join("infra/copy.yaml");
    fs::write(&copy, "version: 1\nstack:  a\nregion: us-east-1\n").unwrap();
    let first = root.join("infra/a.yaml");
    let diags = load_stacks(&Overlay::default(), &[first.clone(), copy.clone()], None)
        .into_result()
        .unwrap_err();
    assert_eq!(diags.len(), 1);
    assert_eq!(
        diags[0].message,
        format!(
            "stack `a` in us-east-1 is declared in both {} and {}",
            first.display(),
            copy.display()
        )
    );
    assert_eq!((diags[0].at.line, diags[0].at.column), (2, 9));
    // The same name in another region is another stack.
    fs::write(&copy, "version: 1\nstack: a\nregion: eu-west-1\n").unwrap();
    assert_eq!(
        load_stacks(&Overlay::default(), &[first, copy], None)
            .into_result()
            .unwrap()
            .len(),
        2
    );
}

/// A Git work tree (a `.git` directory is all discovery looks for)
/// holding `infra/web.yaml`, whose user data is `path`.
fn repo(path: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::create_dir_all(root.join(".git")).unwrap();
    fs::create_dir_all(root.join("infra")).unwrap();
    fs::create_dir_all(root.join("cloud-init")).unwrap();
    fs::write(root.join("cloud-init/web.sh"), "#!/bin/sh\n").unwrap();
    fs::write(
        root.join("infra/web.yaml"),
        STACK.replace("init/web.sh", path),
    )
    .unwrap();
    dir
}

/// The one diagnostic of loading `infra/web.yaml`: message and hint.
fn refusal(dir: &Path) -> (String, String) {
    let diags = load_stack(&dir.join("infra/web.yaml")).unwrap_err();
    assert_eq!(diags.len(), 1, "{diags:?}");
    let d = &diags[0];
    assert_eq!((d.at.line, d.at.column), (8, 21), "{d:?}");
    (d.message.clone(), d.hint.clone().unwrap_or_default())
}

#[test]
fn user_data_may_leave_the_stack_folder_but_not_the_repository() {
    let dir = repo("../cloud-init/web.sh");
    let d = load_stack(&dir.path().join("infra/web.yaml")).unwrap();
    assert_eq!(d.instances["web"].user_data.as_deref(), Some("#!/bin/sh\n"));

    let up = "../".repeat(dir.path().components().count() + 2);
    for path in [
        "../../outside.sh".to_string(),
        format!("{up}proc/self/environ"),
        format!("{up}etc/passwd"),
        "../cloud-init/../../x/../../etc/hostname".to_string(),
    ] {
        let dir = repo(&path);
        let (message, hint) = refusal(dir.path());
        assert_eq!(
            message,
            format!("user data file `{path}` is outside the repository")
        );
        assert!(hint.contains("never the repository"), "{hint}");
    }
}

/// `extends` reads inside the repository only: a path that climbs out,
/// or a link to a file outside it, is refused at the `extends` value,
/// unopened.
#[cfg(unix)]
#[test]
fn a_base_outside_the_repository_is_refused() {
    let dir = environments();
    let root = dir.path();
    let outside = tempfile::tempdir().unwrap();
    fs::write(
        outside.path().join("secret.yaml"),
        "version: 1\nregion: us-east-1\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("secret.yaml"),
        root.join("infra/base/link.yaml"),
    )
    .unwrap();
    let up = "../".repeat(root.components().count() + 2);
    for (path, says) in [
        (format!("{up}etc/passwd"), "is outside the repository"),
        ("../../../x.yaml".to_string(), "is outside the repository"),
        (
            "../base/link.yaml".to_string(),
            "is a symbolic link (or goes through one) to a file outside the repository",
        ),
    ] {
        fs::write(
            root.join("infra/staging/web.yaml"),
            format!("extends: {path}\nstack: web-staging\n"),
        )
        .unwrap();
        let diags = load_stack(&root.join("infra/staging/web.yaml")).unwrap_err();
        assert_eq!(diags.len(), 1, "{diags:#?}");
        assert_eq!(diags[0].message, format!("base file `{path}` {says}"));
        assert_eq!(diags[0].at.line, 1);
    }
}

#[cfg(unix)]
#[test]
fn links_out_devices_fifos_and_directories_are_refused_unopened() {
    use std::os::unix::fs::symlink;
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("secret"), "TOKEN=abc").unwrap();
    /// Path, how to make it, what the refusal says.
    type Case<'a> = (&'a str, &'a dyn Fn(&Path), &'a str);
    let cases: [Case; 5] = [
        (
            "link.sh",
            &|r| symlink(outside.path().join("secret"), r.join("infra/link.sh")).unwrap(),
            "is a symbolic link (or goes through one) to a file outside the repository",
        ),
        (
            "linked/secret",
            &|r| symlink(outside.path(), r.join("infra/linked")).unwrap(),
            "is a symbolic link (or goes through one) to a file outside the repository",
        ),
        (
            "zero",
            &|r| symlink("/dev/zero", r.join("infra/zero")).unwrap(),
            "is a symbolic link (or goes through one) to a file outside the repository",
        ),
        (
            "pipe",
            &|r| {
                let c = std::ffi::CString::new(
                    r.join("infra/pipe").into_os_string().into_encoded_bytes(),
                )
                .unwrap();
                // SAFETY: a valid NUL-terminated path; mkfifo only creates the file.
                assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
            },
            "is a named pipe (FIFO), not a regular file",
        ),
        (
            "../cloud-init",
            &|_| {},
            "is a directory, not a regular file",
        ),
    ];
    for (path, make, says) in cases {
        let dir = repo(path);
        make(dir.path());
        let (message, _) = refusal(dir.path());
        assert_eq!(message, format!("user data file `{path}` {says}"));
        assert!(!message.contains("TOKEN"), "{message}");
    }
    // A link that stays in the repository is followed.
    let dir = repo("here.sh");
    symlink("../cloud-init/web.sh", dir.path().join("infra/here.sh")).unwrap();
    assert!(load_stack(&dir.path().join("infra/web.yaml")).is_ok());
}

#[test]
fn without_a_git_work_tree_only_the_stack_folder_is_readable() {
    let dir = tempfile::tempdir().unwrap();
    // Not a repository: no `.git` anywhere up to `/` (the temp dir is
    // not inside one here; the test would pass vacuously otherwise).
    assert!(
        dir.path()
            .ancestors()
            .all(|a| fs::symlink_metadata(a.join(".git")).is_err())
    );
    fs::create_dir_all(dir.path().join("infra/init")).unwrap();
    fs::write(dir.path().join("infra/init/web.sh"), "x").unwrap();
    fs::write(dir.path().join("web.sh"), "x").unwrap();
    fs::write(dir.path().join("infra/web.yaml"), STACK).unwrap();
    assert!(load_stack(&dir.path().join("infra/web.yaml")).is_ok());
    fs::write(
        dir.path().join("infra/web.yaml"),
        STACK.replace("init/web.sh", "../web.sh"),
    )
    .unwrap();
    let (message, hint) = refusal(dir.path());
    assert_eq!(
        message,
        "user data file `../web.sh` is outside the stack file's folder"
    );
    assert!(
        hint.contains("no Git work tree holds this stack file"),
        "{hint}"
    );
    // A root given by the caller (the action's workspace) widens it.
    let overlay = Overlay::within(Root::given(dir.path()).unwrap());
    assert!(
        overlay
            .load_stack(&dir.path().join("infra/web.yaml"))
            .is_ok()
    );
}

#[cfg(unix)]
#[test]
fn a_stack_file_linked_from_outside_is_not_read() {
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("web.yaml"), STACK).unwrap();
    let dir = repo("../cloud-init/web.sh");
    let link = dir.path().join("infra/linked.yaml");
    std::os::unix::fs::symlink(outside.path().join("web.yaml"), &link).unwrap();
    let files = find_stack_files(&[dir.path().join("infra").display().to_string()]).unwrap();
    assert!(files.contains(&link), "{files:?}");
    let diags = load_stack(&link).unwrap_err();
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0].at.file, link.display().to_string());
    assert_eq!(
        diags[0].message,
        "the stack file is a symbolic link (or goes through one) to a file outside the repository; it was not read"
    );
}

#[test]
fn normalize_keeps_what_climbs_out() {
    assert_eq!(
        normalize("./infra/../cloud-init/web.yaml"),
        "cloud-init/web.yaml"
    );
    assert_eq!(normalize("infra/../../etc/passwd"), "../etc/passwd");
    assert_eq!(normalize("../../etc/passwd"), "../../etc/passwd");
    assert_eq!(normalize("a/../../b/../c"), "../c");
    assert_eq!(normalize("/a/../../etc"), "/etc");
}

#[test]
fn the_overlay_is_not_consulted_for_a_path_out_of_the_repository() {
    let up = "../".repeat(8);
    let dir = repo(&format!("{up}etc/passwd"));
    let root = dir.path();
    let mut overlay = Overlay::within(Root::given(root).unwrap());
    // What the old lexical normalization made of the path.
    overlay.put("etc/passwd", b"from the pull request".to_vec());
    overlay.put("/etc/passwd", b"from the pull request".to_vec());
    let diags = overlay
        .load_stack(&root.join("infra/web.yaml"))
        .unwrap_err();
    assert!(
        diags[0].message.ends_with("is outside the repository"),
        "{diags:?}"
    );
    assert!(
        !overlay.reads().iter().any(|r| r.contains("passwd")),
        "a refused path is not fetched: {:?}",
        overlay.reads()
    );
}
