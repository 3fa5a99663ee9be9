//! The EC2 adapter: reads live state and executes steps. I/O only; every
//! decision is made in `plan`.

pub mod accounts;
mod apply;
mod call;
mod import;
pub mod lease;
pub mod limits;
mod read;
pub mod trace;
mod wait;

pub(crate) use read::filter as read_filter;

pub use crate::outcome::{Ec2Error, Outcome, StepResult};
pub use apply::{Progress, execute};
pub use lease::{Holder, Lease, LeaseError, NotReleased};

use std::sync::Arc;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::stalled_stream_protection::StalledStreamProtectionConfig;

use limits::Limits;

/// A connection to EC2 in one region, paced by the account's and Region's
/// request-rate buckets (shared by every connection of the process to them).
#[derive(Clone)]
pub struct Ec2 {
    client: aws_sdk_ec2::Client,
    /// Systems Manager, for images named by an SSM parameter: the same
    /// region, endpoint and credentials.
    ssm: aws_sdk_ssm::Client,
    /// Elastic Load Balancing and the tagging API that finds a stack's
    /// load balancers and target groups: the same region, endpoint and
    /// credentials (`None` on a connection made for EC2 alone, which fails
    /// any call to them with a message that says so).
    elb: Option<Elb>,
    limits: Arc<Limits>,
    /// How long one call may be throttled before it fails.
    throttle_deadline: Duration,
}

/// The clients of Elastic Load Balancing v2 and of the tagging API.
#[derive(Clone)]
pub struct Elb {
    elb: aws_sdk_elasticloadbalancingv2::Client,
    tagging: aws_sdk_resourcegroupstagging::Client,
}

impl Elb {
    /// Wraps clients built elsewhere (tests build them against moto); their
    /// retries are turned off: every call is retried by [`Ec2`] itself.
    pub fn new(
        elb: aws_sdk_elasticloadbalancingv2::Client,
        tagging: aws_sdk_resourcegroupstagging::Client,
    ) -> Self {
        let elb_config = elb
            .config()
            .to_builder()
            .retry_config(RetryConfig::disabled())
            .build();
        let tagging_config = tagging
            .config()
            .to_builder()
            .retry_config(RetryConfig::disabled())
            .build();
        Elb {
            elb: aws_sdk_elasticloadbalancingv2::Client::from_conf(elb_config),
            tagging: aws_sdk_resourcegroupstagging::Client::from_conf(tagging_config),
        }
    }
}

/// The account every connection of the process reaches: the one of the
/// job's credentials (the standard AWS chain).
const JOB_ACCOUNT: &str = "the job's credentials";

/// The SDK's stalled-stream protection for answers only. Every EC2 request
/// is a form of a few KB that is sent at once; the upload check then does
/// nothing but wake its call ten times a second until EC2 answers, and each
/// wake polls every read of the plan's `try_join!`: CPU that grows with the
/// time EC2 takes (3.5 ms per second of waiting with ten reads in flight;
/// against moto, whose reads of a 5,000-instance stack take ten minutes, most
/// of the tool's CPU). A stalled answer is still cut off.
fn stalled_stream_protection() -> StalledStreamProtectionConfig {
    StalledStreamProtectionConfig::enabled()
        .upload_enabled(false)
        .download_enabled(true)
        .build()
}

impl Ec2 {
    /// Connects with the standard AWS chain (environment, profile, SSO, web
    /// identity / OIDC, instance role). `AWS_ENDPOINT_URL` points it at an
    /// emulator.
    pub async fn connect(region: &str) -> Self {
        let config = aws_config::defaults(BehaviorVersion::latest())
            .region(aws_config::Region::new(region.to_string()))
            .retry_config(RetryConfig::disabled())
            .stalled_stream_protection(stalled_stream_protection())
            .load()
            .await;
        Self::from_sdk_config(&config, JOB_ACCOUNT)
    }

    /// Every client of one SDK configuration (its Region, endpoint and
    /// credentials), paced by the buckets of `account` in its Region.
    fn from_sdk_config(config: &aws_config::SdkConfig, account: &str) -> Self {
        let region = config.region().map(ToString::to_string).unwrap_or_default();
        let ssm = aws_sdk_ssm::Client::from_conf(
            aws_sdk_ssm::config::Builder::from(config)
                .retry_config(RetryConfig::disabled())
                .build(),
        );
        let elb = Elb::new(
            aws_sdk_elasticloadbalancingv2::Client::new(config),
            aws_sdk_resourcegroupstagging::Client::new(config),
        );
        let mut ec2 = Self::from_client(aws_sdk_ec2::Client::new(config))
            .with_ssm(ssm)
            .with_elb(elb);
        ec2.limits = Limits::shared(account, &region);
        ec2
    }

    /// The same connection, reading and changing load balancers and target
    /// groups with `elb`.
    pub fn with_elb(mut self, elb: Elb) -> Self {
        self.elb = Some(elb);
        self
    }

    /// The ELB clients, or why there are none.
    fn elb(&self) -> Result<&Elb, Ec2Error> {
        self.elb.as_ref().ok_or_else(|| {
            Ec2Error {
                action: "DescribeLoadBalancers",
                code: "NoElbClient".into(),
                message: "this connection was made for EC2 alone and reaches no load balancers (Ec2::with_elb)".into(),
            }
        })
    }

    /// The same connection, resolving images named by an SSM parameter with
    /// `ssm` (its retries are turned off: [`Ec2`] retries every call).
    pub fn with_ssm(mut self, ssm: aws_sdk_ssm::Client) -> Self {
        let config = ssm
            .config()
            .to_builder()
            .retry_config(RetryConfig::disabled())
            .build();
        self.ssm = aws_sdk_ssm::Client::from_conf(config);
        self
    }

    /// Wraps a client built elsewhere (tests build one against moto). Its
    /// retries are turned off: every call is retried by [`Ec2`] itself.
    pub fn from_client(client: aws_sdk_ec2::Client) -> Self {
        let config = client
            .config()
            .to_builder()
            .retry_config(RetryConfig::disabled())
            .build();
        let region = config.region().map(ToString::to_string).unwrap_or_default();
        // No credentials of its own: `with_ssm` gives it the client to use
        // (`connect` does).
        let ssm = aws_sdk_ssm::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(config.region().cloned())
            .build();
        Self {
            ssm: aws_sdk_ssm::Client::from_conf(ssm),
            elb: None,
            client: aws_sdk_ec2::Client::from_conf(config),
            limits: Limits::shared(JOB_ACCOUNT, &region),
            throttle_deadline: call::THROTTLE_DEADLINE,
        }
    }

    /// The same connection, failing a call that EC2 throttles for longer
    /// than `deadline` (15 minutes by default).
    pub fn with_throttle_deadline(mut self, deadline: Duration) -> Self {
        self.throttle_deadline = deadline;
        self
    }
}
