//! moto's EC2 emulator (`moto_server`) as a child process on a loopback port.
//!
//! ```ignore
//! let moto = Moto::start();                 // panics if moto is not installed
//! let ec2 = moto.ec2_client("us-east-1");   // the real aws-sdk-ec2 client
//! ```
//!
//! Each `Moto` is its own emulator with empty state (about 0.5 s to start, and
//! about 1.3 s more on the first EC2 call of a region while moto loads its AMI
//! and instance-type catalogues), so tests that start their own never see each
//! other's resources. The process is killed when the `Moto` is dropped, and
//! also exits by itself if the test process dies without dropping it.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_ec2::config::{BehaviorVersion, Credentials, Region};

/// How long moto may take to answer its first request before the test fails.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs moto's server on top of the venv's Python and exits it when its stdin
/// closes, which happens when the test process ends however it ends (a panic
/// that skips `Drop`, nextest's timeout kill).
const WATCHDOG: &str = "\
import os, sys, threading
def _watch():
    sys.stdin.read()
    os._exit(0)
threading.Thread(target=_watch, daemon=True).start()
from moto.server import main
main(sys.argv[1:])
";

/// A running `moto_server` on 127.0.0.1, killed on drop.
pub struct Moto {
    child: Child,
    port: u16,
    log: tempfile::NamedTempFile,
}

impl Moto {
    /// Starts moto with AMI, instance-type and key-pair validation on and
    /// waits until it answers; panics (never skips) if it cannot.
    pub fn start() -> Moto {
        let server = moto_server_path();
        // A free port can be taken by someone else between our probe and
        // moto's bind: try a few ports before giving up.
        let mut last_log = String::new();
        for _ in 0..3 {
            let port = free_port();
            let log = tempfile::NamedTempFile::new().expect("create moto log file");
            let child = spawn(&server, port, &log);
            let mut moto = Moto { child, port, log };
            match moto.wait_ready() {
                Ok(()) => return moto,
                Err(WaitError::Exited) => last_log = moto.log_text(),
                Err(WaitError::TimedOut) => panic!(
                    "moto_server ({}) did not answer on port {port} within {STARTUP_TIMEOUT:?}; \
                     its output:\n{}",
                    server.display(),
                    moto.log_text()
                ),
            }
        }
        panic!(
            "moto_server ({}) exited during startup three times; its last output:\n{last_log}",
            server.display()
        );
    }

    /// The base URL to give an AWS client (`http://127.0.0.1:PORT`).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The loopback address moto listens on.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// A real EC2 client for `region` talking to this moto.
    pub fn ec2_client(&self, region: &str) -> aws_sdk_ec2::Client {
        ec2_client_at(&self.endpoint(), region)
    }

    /// Forgets every resource (moto's `/moto-api/reset`), for a test that
    /// wants a clean emulator again without paying for a new process.
    pub fn reset(&self) {
        let response = http_request(self.addr(), "POST", "/moto-api/reset")
            .unwrap_or_else(|e| panic!("moto reset failed: {e}"));
        assert!(
            response.starts_with("HTTP/1.1 200") || response.starts_with("HTTP/1.0 200"),
            "moto reset answered: {response}"
        );
    }

    /// Makes IAM instance profiles (each with a role of its name) in moto's
    /// IAM, through boto3 (the venv moto runs from has it): the EC2 calls
    /// that name a profile find it.
    pub fn create_instance_profiles(&self, names: &[&str]) {
        let script = r#"
import sys, boto3
iam = boto3.client("iam", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="test", aws_secret_access_key="test")
trust = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
for name in sys.argv[2:]:
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)
    iam.create_instance_profile(InstanceProfileName=name)
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
"#;
        self.boto3("instance profiles", script, names);
    }

    /// Requests a certificate for `domain` in moto's ACM (an HTTPS listener
    /// names one that exists, as ELB checks); returns its ARN.
    pub fn create_certificate(&self, domain: &str) -> String {
        let script = r#"
import sys, boto3
acm = boto3.client("acm", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="test", aws_secret_access_key="test")
print(acm.request_certificate(DomainName=sys.argv[2])["CertificateArn"])
"#;
        self.boto3("certificate", script, &[domain])
    }

    /// The name tags of `stack`'s live instances in `account`, sorted, as
    /// boto3 sees them with a role of that account assumed (moto's assumed
    /// credentials act in the role's account).
    pub fn instances_in_account(&self, account: &str, stack: &str) -> Vec<String> {
        let script = r#"
import sys, boto3
sts = boto3.client("sts", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="test", aws_secret_access_key="test")
c = sts.assume_role(RoleArn=f"arn:aws:iam::{sys.argv[2]}:role/deploy", RoleSessionName="check")["Credentials"]
ec2 = boto3.client("ec2", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
                   aws_session_token=c["SessionToken"])
names = []
for r in ec2.describe_instances(Filters=[{"Name": "tag:ec2-gitops:stack", "Values": [sys.argv[3]]},
                                         {"Name": "instance-state-name", "Values": ["pending", "running"]}])["Reservations"]:
    for i in r["Instances"]:
        names += [t["Value"] for t in i["Tags"] if t["Key"] == "ec2-gitops:name"]
print(",".join(sorted(names)))
"#;
        let out = self.boto3("instances in an account", script, &[account, stack]);
        out.split(',')
            .filter(|n| !n.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// Runs a boto3 `script` with the venv's Python that moto runs from
    /// (moto's endpoint, then `args`); its standard output, trimmed.
    pub fn boto3(&self, what: &str, script: &str, args: &[&str]) -> String {
        let python = moto_server_path().with_file_name("python");
        let out = std::process::Command::new(&python)
            .arg("-c")
            .arg(script)
            .arg(self.endpoint())
            .args(args)
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "{}: {e} (scripts/setup-test-deps.sh makes it)",
                    python.display()
                )
            });
        assert!(
            out.status.success(),
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// What moto printed so far (its request log and any traceback).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    fn wait_ready(&mut self) -> Result<(), WaitError> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Ok(Some(_)) = self.child.try_wait() {
                return Err(WaitError::Exited);
            }
            if let Ok(response) = http_request(self.addr(), "GET", "/moto-api/")
                && response.starts_with("HTTP/")
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(WaitError::TimedOut);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

enum WaitError {
    Exited,
    TimedOut,
}

/// A real EC2 client for `region` at `endpoint` (moto, or a proxy in front
/// of it) with dummy static credentials.
pub fn ec2_client_at(endpoint: &str, region: &str) -> aws_sdk_ec2::Client {
    aws_sdk_ec2::Client::from_conf(ec2_config_at(endpoint, region).build())
}

/// Real ELB and tagging clients for `region` at `endpoint`, with dummy
/// credentials (moto answers both on its one port).
pub fn elb_at(endpoint: &str, region: &str) -> ec2_gitops::ec2::Elb {
    let credentials = aws_sdk_elasticloadbalancingv2::config::Credentials::new(
        "test", "test", None, None, "test",
    );
    let elb = elb_client_at(endpoint, region);
    let tagging = aws_sdk_resourcegroupstagging::Client::from_conf(
        aws_sdk_resourcegroupstagging::Config::builder()
            .behavior_version(aws_sdk_resourcegroupstagging::config::BehaviorVersion::latest())
            .region(aws_sdk_resourcegroupstagging::config::Region::new(
                region.to_owned(),
            ))
            .credentials_provider(credentials)
            .endpoint_url(endpoint)
            .build(),
    );
    ec2_gitops::ec2::Elb::new(elb, tagging)
}

/// A real ELB client for `region` at `endpoint`, with dummy credentials
/// (what a test uses to make load balancers by hand).
pub fn elb_client_at(endpoint: &str, region: &str) -> aws_sdk_elasticloadbalancingv2::Client {
    aws_sdk_elasticloadbalancingv2::Client::from_conf(
        aws_sdk_elasticloadbalancingv2::Config::builder()
            .behavior_version(aws_sdk_elasticloadbalancingv2::config::BehaviorVersion::latest())
            .region(aws_sdk_elasticloadbalancingv2::config::Region::new(
                region.to_owned(),
            ))
            .credentials_provider(aws_sdk_elasticloadbalancingv2::config::Credentials::new(
                "test", "test", None, None, "test",
            ))
            .endpoint_url(endpoint)
            .build(),
    )
}

/// A real SSM client for `region` at `endpoint`, with dummy credentials.
pub fn ssm_client_at(endpoint: &str, region: &str) -> aws_sdk_ssm::Client {
    aws_sdk_ssm::Client::from_conf(
        aws_sdk_ssm::Config::builder()
            .behavior_version(aws_sdk_ssm::config::BehaviorVersion::latest())
            .region(aws_sdk_ssm::config::Region::new(region.to_owned()))
            .credentials_provider(aws_sdk_ssm::config::Credentials::new(
                "test", "test", None, None, "test",
            ))
            .endpoint_url(endpoint)
            .build(),
    )
}

/// The configuration `ec2_client_at` uses, for a test that changes more
/// (e.g. a short retry backoff: `.retry_config(RetryConfig::standard()…)`).
pub fn ec2_config_at(endpoint: &str, region: &str) -> aws_sdk_ec2::config::Builder {
    aws_sdk_ec2::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .endpoint_url(endpoint)
}

/// `moto_server` from `$MOTO_SERVER`, else the venv that
/// `scripts/setup-test-deps.sh` makes; panics with the fix if it is missing.
pub fn moto_server_path() -> PathBuf {
    let path = match std::env::var_os("MOTO_SERVER") {
        Some(path) => PathBuf::from(path),
        None => venv_dir().join("bin").join("moto_server"),
    };
    if !path.is_file() {
        panic!(
            "moto_server not found at {} (from $MOTO_SERVER, $EC2_GITOPS_VENV or \
             ~/.cache/ec2-gitops-venv). The EC2 tests need moto's emulator: run \
             `scripts/setup-test-deps.sh` (or `scripts/test.sh`, which runs it) first.",
            path.display()
        );
    }
    path
}

fn venv_dir() -> PathBuf {
    if let Some(venv) = std::env::var_os("EC2_GITOPS_VENV") {
        return PathBuf::from(venv);
    }
    let home = std::env::var_os("HOME").expect("HOME is not set; set MOTO_SERVER instead");
    PathBuf::from(home).join(".cache").join("ec2-gitops-venv")
}

fn spawn(server: &Path, port: u16, log: &tempfile::NamedTempFile) -> Child {
    // Prefer the venv's own Python (next to moto_server) so the watchdog can
    // wrap moto; fall back to running the script as it is.
    let python = server.with_file_name("python");
    let mut command = if python.is_file() {
        let mut command = Command::new(python);
        command.arg("-c").arg(WATCHDOG);
        command
    } else {
        Command::new(server)
    };
    let stdout = log.reopen().expect("open moto log file");
    let stderr = log.reopen().expect("open moto log file");
    command
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .env("MOTO_ENABLE_AMI_VALIDATION", "true")
        .env("MOTO_EC2_ENABLE_INSTANCE_TYPE_VALIDATION", "true")
        .env("MOTO_ENABLE_KEYPAIR_VALIDATION", "true")
        // moto must not use real credentials or an endpoint from the caller's shell.
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .stdin(Stdio::piped())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", server.display()))
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .expect("bind a free loopback port")
        .port()
}

/// A one-shot HTTP/1.1 request with no body; returns the raw response.
fn http_request(addr: SocketAddr, method: &str, path: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response)
}
