//! Resource Manager v3: projects and folders, where they sit in the hierarchy, and the IAM
//! policies that grant access and turn audit logs on, read for the inventory.

use google_cloud_gax::paginator::ItemPaginator;
use google_cloud_iam_v1::model::audit_log_config::LogType;
use google_cloud_resourcemanager_v3::client::{Folders, Organizations, Projects};
use google_cloud_resourcemanager_v3::model::project;
use serde::Serialize;

use crate::{Connection, GcpError};

/// The Resource Manager clients of a run.
#[derive(Clone, Debug)]
pub struct ResourceManager {
    pub projects: Projects,
    pub folders: Folders,
    pub organizations: Organizations,
}

impl ResourceManager {
    pub async fn new(conn: &Connection) -> Result<ResourceManager, GcpError> {
        Ok(ResourceManager {
            projects: conn.client(Projects::builder()).await?,
            folders: conn.client(Folders::builder()).await?,
            organizations: conn.client(Organizations::builder()).await?,
        })
    }
}

/// A project, as the inventory reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Project {
    pub id: String,
    /// `projects/NUMBER`.
    pub name: String,
    pub display_name: String,
    /// `folders/N` or `organizations/N`; empty for a project outside any organization.
    pub parent: String,
    pub labels: std::collections::BTreeMap<String, String>,
}

fn project(p: google_cloud_resourcemanager_v3::model::Project) -> Project {
    Project {
        id: p.project_id,
        name: p.name,
        display_name: p.display_name,
        parent: p.parent,
        labels: p.labels.into_iter().collect(),
    }
}

/// `resourcemanager.projects.get`.
pub async fn get_project(rm: &ResourceManager, id: &str) -> Result<Project, GcpError> {
    let name = format!("projects/{id}");
    rm.projects
        .get_project()
        .set_name(&name)
        .send()
        .await
        .map(project)
        .map_err(|e| GcpError::call("resourcemanager.projects.get", &name, e))
}

/// `resourcemanager.projects.list` of a folder's or organization's active projects (its
/// direct children only).
pub async fn projects_under(rm: &ResourceManager, parent: &str) -> Result<Vec<Project>, GcpError> {
    let mut items = rm.projects.list_projects().set_parent(parent).by_item();
    let mut out = Vec::new();
    while let Some(p) = items.next().await {
        let p = p.map_err(|e| GcpError::call("resourcemanager.projects.list", parent, e))?;
        if p.state == project::State::Active {
            out.push(project(p));
        }
    }
    Ok(out)
}

/// `resourcemanager.folders.list`: a folder's or organization's active folders (its direct
/// children only).
pub async fn folders_under(rm: &ResourceManager, parent: &str) -> Result<Vec<String>, GcpError> {
    use google_cloud_resourcemanager_v3::model::folder;
    let mut items = rm.folders.list_folders().set_parent(parent).by_item();
    let mut out = Vec::new();
    while let Some(f) = items.next().await {
        let f = f.map_err(|e| GcpError::call("resourcemanager.folders.list", parent, e))?;
        if f.state == folder::State::Active {
            out.push(f.name);
        }
    }
    Ok(out)
}

/// `resourcemanager.folders.get`: the folder's parent (`folders/N` or `organizations/N`).
pub async fn folder_parent(rm: &ResourceManager, name: &str) -> Result<String, GcpError> {
    rm.folders
        .get_folder()
        .set_name(name)
        .send()
        .await
        .map(|f| f.parent)
        .map_err(|e| GcpError::call("resourcemanager.folders.get", name, e))
}

/// What an IAM policy says that the inventory asks about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Policy {
    /// Every member with some role, as `role member`.
    pub grants: Vec<(String, String)>,
    /// Data Access audit log types turned on for every service (`DATA_READ`, `DATA_WRITE`).
    pub data_access_all_services: Vec<String>,
}

fn policy(p: google_cloud_iam_v1::model::Policy) -> Policy {
    let mut out = Policy::default();
    for b in p.bindings {
        // A conditional grant still grants; the inventory asks only whether one exists.
        for m in b.members {
            out.grants.push((b.role.clone(), m));
        }
    }
    for c in p.audit_configs {
        let data: Vec<String> = c
            .audit_log_configs
            .iter()
            .filter(|l| matches!(l.log_type, LogType::DataRead | LogType::DataWrite))
            .filter_map(|l| l.log_type.name().map(str::to_string))
            .collect();
        if c.service == "allServices" {
            out.data_access_all_services.extend(data);
        }
    }
    out
}

/// What an IAM policy says that the inventory asks about, from `getIamPolicy`.
pub async fn iam_policy(rm: &ResourceManager, resource: &str) -> Result<Policy, GcpError> {
    raw_policy(rm, resource).await.map(policy)
}

/// `getIamPolicy` of a project, folder or organization (`projects/P`, `folders/N`,
/// `organizations/N`), whole, asking for version 3 so conditional bindings come back whole:
/// what a change writes back, with its etag.
pub async fn raw_policy(
    rm: &ResourceManager,
    resource: &str,
) -> Result<google_cloud_iam_v1::model::Policy, GcpError> {
    let options =
        google_cloud_iam_v1::model::GetPolicyOptions::new().set_requested_policy_version(3);
    let p = if resource.starts_with("folders/") {
        rm.folders
            .get_iam_policy()
            .set_resource(resource)
            .set_options(options)
            .send()
            .await
            .map_err(|e| GcpError::call("resourcemanager.folders.getIamPolicy", resource, e))?
    } else if resource.starts_with("organizations/") {
        rm.organizations
            .get_iam_policy()
            .set_resource(resource)
            .set_options(options)
            .send()
            .await
            .map_err(|e| {
                GcpError::call("resourcemanager.organizations.getIamPolicy", resource, e)
            })?
    } else {
        rm.projects
            .get_iam_policy()
            .set_resource(resource)
            .set_options(options)
            .send()
            .await
            .map_err(|e| GcpError::call("resourcemanager.projects.getIamPolicy", resource, e))?
    };
    Ok(p)
}

/// `setIamPolicy` of a project, folder or organization: the bindings written back with the
/// etag they were read with, so a change made in between fails the write instead of being
/// overwritten (audit configs are not touched: no update mask names them).
pub async fn set_policy(
    rm: &ResourceManager,
    resource: &str,
    p: google_cloud_iam_v1::model::Policy,
) -> Result<(), GcpError> {
    if resource.starts_with("folders/") {
        rm.folders
            .set_iam_policy()
            .set_resource(resource)
            .set_policy(p)
            .send()
            .await
            .map_err(|e| GcpError::call("resourcemanager.folders.setIamPolicy", resource, e))?;
    } else if resource.starts_with("organizations/") {
        rm.organizations
            .set_iam_policy()
            .set_resource(resource)
            .set_policy(p)
            .send()
            .await
            .map_err(|e| {
                GcpError::call("resourcemanager.organizations.setIamPolicy", resource, e)
            })?;
    } else {
        rm.projects
            .set_iam_policy()
            .set_resource(resource)
            .set_policy(p)
            .send()
            .await
            .map_err(|e| GcpError::call("resourcemanager.projects.setIamPolicy", resource, e))?;
    }
    Ok(())
}
