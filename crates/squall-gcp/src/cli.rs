//! Google Cloud's own command-line arguments: its target flags (`--project`, `--zone`,
//! `--impersonate`, `--endpoint`) and its verbs, for a front end to register under
//! `contain|release gcp`. Built with the `cli` feature; each verb turns into the shared
//! response flags, the target and a [`crate::request`].

use clap::{Args, Subcommand};
use squall_core::cli::{RESPONSE_HELP, Response};

use crate::request::{Contain, InstanceContainment as How, InstanceRef};
use crate::{GcpError, Target};

#[derive(Subcommand, Debug)]
pub enum ContainGcp {
    /// Isolate, suspend or stop instances.
    #[command(
        after_help = "Isolation keeps the instance running for the forensics: deletion \
        protection on; deny-all firewall rules (ingress and egress, IPv4 and IPv6, priority 0, \
        where a deny beats every allow) on a network tag only this instance carries, in every \
        network it is on — never its service account, which other instances may share; the tag \
        put on; external addresses removed. It is verified through the instance's effective \
        firewalls: an organization or folder firewall policy that allows traffic is evaluated \
        before any VPC rule, and is reported as a failure. The prior state is recorded: `squall \
        release gcp instance` restores it.\n\n\
        --suspend keeps memory (Google's pause); --stop loses it.\n\n\
        Instances are named projects/P/zones/Z/instances/N (as the audit logs name them), or \
        N with --project and --zone.\n\n\
        Examples:\n  squall contain gcp instance projects/acme-prod/zones/europe-west1-b/instances/web-1 --case C-0001 --isolate\n  \
        squall contain gcp instance web-1 --project acme-prod --zone europe-west1-b --case C-0001 --isolate --yes"
    )]
    Instance {
        #[arg(required = true)]
        instances: Vec<String>,
        #[command(flatten)]
        how: InstanceContainmentArgs,
        #[command(flatten)]
        r: Response,
        #[command(flatten)]
        target: GcpTargetArgs,
    },
}

/// What to do to an instance: exactly one.
#[derive(Args, Debug, Clone, Copy)]
#[group(required = true, multiple = false)]
pub struct InstanceContainmentArgs {
    /// Cut it off from every network; keep it running.
    #[arg(long)]
    pub isolate: bool,
    /// Suspend it: memory kept (Google's "pause"); resumable.
    #[arg(long)]
    pub suspend: bool,
    /// Stop it (memory is lost).
    #[arg(long)]
    pub stop: bool,
}

#[derive(Subcommand, Debug)]
pub enum ReleaseGcp {
    /// Undo an isolation: external addresses (the same ones when still free), tags and
    /// deletion protection as the isolation recorded them; its firewall rules deleted.
    #[command(after_help = RESPONSE_HELP)]
    Instance {
        #[arg(required = true)]
        instances: Vec<String>,
        #[command(flatten)]
        r: Response,
        #[command(flatten)]
        target: GcpTargetArgs,
    },
}

/// Where and as whom to reach Google Cloud: Application Default Credentials, overridable.
#[derive(Args, Debug, Clone, Default)]
pub struct GcpTargetArgs {
    /// The project, for resources named without one.
    #[arg(long, env = "CLOUDSDK_CORE_PROJECT", value_name = "PROJECT")]
    pub project: Option<String>,
    /// The zone, for instances named without one.
    #[arg(long, env = "CLOUDSDK_COMPUTE_ZONE", value_name = "ZONE")]
    pub zone: Option<String>,
    /// Act as this service account (the team's emergency access), through short-lived tokens
    /// from IAM Credentials; the ADC identity needs Service Account Token Creator on it.
    #[arg(long, env = "SQUALL_GCP_IMPERSONATE", value_name = "SA_EMAIL")]
    pub impersonate: Option<String>,
    /// Send every Google API call to this endpoint (a test server).
    #[arg(long, env = "SQUALL_GCP_ENDPOINT", value_name = "URL", hide = true)]
    pub endpoint: Option<String>,
}

impl GcpTargetArgs {
    /// Where the calls go.
    pub fn target(&self) -> Target {
        Target {
            project: self.project.clone(),
            impersonate: self.impersonate.clone(),
            endpoint: self.endpoint.clone(),
            case: None,
        }
    }

    /// The instances named, completed with `--project` and `--zone`.
    pub fn instances(&self, names: &[String]) -> Result<Vec<InstanceRef>, GcpError> {
        names
            .iter()
            .map(|n| InstanceRef::parse(n, self.project.as_deref(), self.zone.as_deref()))
            .collect()
    }
}

impl ContainGcp {
    /// The target flags, for a front end to fill what they left unset from its config.
    pub fn target_mut(&mut self) -> &mut GcpTargetArgs {
        let ContainGcp::Instance { target, .. } = self;
        target
    }

    /// The shared response flags, the target flags and what to contain.
    pub fn into_request(self) -> Result<(Response, GcpTargetArgs, Contain), GcpError> {
        let ContainGcp::Instance {
            instances,
            how,
            r,
            target,
        } = self;
        let how = match how {
            h if h.isolate => How::Isolate,
            h if h.suspend => How::Suspend,
            _ => How::Stop,
        };
        let instances = target.instances(&instances)?;
        Ok((r, target, Contain::Instances { instances, how }))
    }
}
