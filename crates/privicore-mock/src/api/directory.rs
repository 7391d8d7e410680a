//! Directory: profiles grouped under an owner, with invitations, devices, voting pools and
//! meta information. No source documents this group (docs/protocol.md §14.10): paths and fields
//! follow the spec's inference, and the behaviour is the simplest consistent one. Commands
//! that create something use their command id as its id.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};

use super::ok;
use crate::api::device::{device_json, new_device};
use crate::auth::caller;
use crate::commands::{self, Command, Rejection};
use crate::error::ApiFailure;
use crate::input::{Call, Fields, malformed};
use crate::reply::Reply;
use crate::shared::Shared;
use crate::state::devices::DeviceStatus;
use crate::state::directories::{Directories, Directory, Invitation};
use crate::state::profiles::Profile;
use crate::state::voting::Pool;
use crate::state::{World, lock};

fn directory_json(d: &Directory) -> Value {
    json!({
        "directoryId": d.id,
        "name": d.name,
        "ownerProfileId": d.owner,
        "meta": d.meta,
    })
}

fn user_json(p: &Profile, directory_id: &str) -> Value {
    let mut value = json!({
        "profileId": p.id,
        "username": p.username,
        "directoryId": directory_id,
    });
    if let Some(name) = &p.display_name {
        value["displayName"] = json!(name);
    }
    if let Some(email) = &p.email {
        value["email"] = json!(email);
    }
    value
}

fn not_found() -> ApiFailure {
    ApiFailure::not_found(
        "directory.not_found",
        "no directory visible to this profile has this id",
    )
}

/// The directory the caller owns, when the command runs.
/// Answers a read of the directory named by the `directoryId` parameter, if the caller may
/// see it: the shared start of the directory reads.
fn with_visible(
    s: &Arc<Shared>,
    call: &Call,
    answer: impl FnOnce(&World, &Directory) -> Result<Reply, ApiFailure>,
) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    let id = call.param("directoryId")?;
    let directory = world
        .directories
        .visible(id, &who.profile_id)
        .ok_or_else(not_found)?;
    answer(&world, directory)
}

fn owned<'a>(w: &'a mut World, id: &str, owner: &str) -> Result<&'a mut Directory, Rejection> {
    w.directories
        .owned_mut(id, owner)
        .ok_or_else(|| Rejection::new("directory.not_found"))
}

fn member(d: &Directory, profile_id: &str) -> Result<(), Rejection> {
    if d.members.iter().any(|m| m == profile_id) {
        Ok(())
    } else {
        Err(Rejection::new("directory.profile_not_found"))
    }
}

/// A command on a directory the caller owns, with its form.
fn directory_command(
    s: &Arc<Shared>,
    call: &Call,
    read: impl FnOnce(
        &Fields,
    ) -> Result<
        Box<dyn FnOnce(&mut World, &str, &str) -> Result<(), Rejection> + Send>,
        ApiFailure,
    >,
) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    let form = call.form()?;
    let directory_id = form.required("directoryId")?;
    let change = read(&form)?;
    let owner = who.profile_id.clone();
    let command = Command::new(call.op, &who.profile_id, move |w, _| {
        change(w, &directory_id, &owner).map(|()| None)
    });
    Ok(commands::submit(s, &mut world, command))
}

pub(crate) fn register(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    let form = call.form()?;
    let name = form.required("name")?;
    if world.directories.name_taken(&who.profile_id, &name) {
        return Err(ApiFailure::conflict(
            "directory.name_taken",
            "this profile already owns a directory with this name",
        ));
    }
    let key = (who.profile_id.clone(), name.clone());
    world.directories.pending_names.insert(key.clone());
    let (owner, undo) = (who.profile_id.clone(), key.clone());
    let command = Command::new("register_directory", &who.profile_id, move |w, ctx| {
        w.directories.pending_names.remove(&key);
        let seq = w.directories.next_seq();
        w.directories.by_id.insert(
            ctx.id.to_owned(),
            Directory {
                id: ctx.id.to_owned(),
                owner,
                name,
                meta: BTreeMap::new(),
                members: Vec::new(),
                devices: Vec::new(),
                pools: Vec::new(),
                seq,
            },
        );
        Ok(None)
    })
    .on_abort(move |w| {
        w.directories.pending_names.remove(&undo);
    });
    Ok(commands::submit(s, &mut world, command))
}

fn list_where(
    s: &Arc<Shared>,
    call: &Call,
    keep: impl Fn(&Directory, &str) -> bool,
) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    let list = world
        .directories
        .by_id
        .values()
        .filter(|d| keep(d, &who.profile_id))
        .collect();
    let list: Vec<Value> = Directories::sorted(list)
        .into_iter()
        .map(directory_json)
        .collect();
    ok(Value::Array(list))
}

pub(crate) fn list_owned(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    list_where(s, call, |d, me| d.owner == me)
}

pub(crate) fn list_assigned(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    list_where(s, call, |d, me| d.members.iter().any(|m| m == me))
}

pub(crate) fn retrieve(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    with_visible(s, call, |_, directory| ok(directory_json(directory)))
}

/// Creates a profile inside the directory; it can authenticate like any other. The username
/// is reserved at once (`409` if taken); the command id becomes the profile id.
pub(crate) fn create_user(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    let form = call.form()?;
    let directory_id = form.required("directoryId")?;
    let username = form.required("username")?;
    let password = form.required("password")?;
    let profile_id = super::profile::reserve_profile(
        &mut world,
        username,
        password,
        Some(directory_id.clone()),
    )?;
    let (owner, undo) = (who.profile_id.clone(), profile_id.clone());
    let command = Command::new("create_directory_user", &who.profile_id, move |w, ctx| {
        let directory = owned(w, &directory_id, &owner)?;
        directory.members.push(ctx.id.to_owned());
        if let Some(profile) = w.profiles.get_mut(ctx.id) {
            profile.pending = false;
        }
        Ok(None)
    })
    .with_id(profile_id)
    .on_abort(move |w| w.profiles.remove(&undo));
    Ok(commands::submit(s, &mut world, command))
}

pub(crate) fn update_user(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    directory_command(s, call, |form| {
        let profile_id = form.required("profileId")?;
        let display_name = form.optional("displayName");
        let email = form.optional("email");
        if email.as_deref().is_some_and(|e| !e.contains('@')) {
            return Err(malformed("email", "an e-mail address"));
        }
        Ok(Box::new(move |w: &mut World, dir: &str, owner: &str| {
            member(owned(w, dir, owner)?, &profile_id)?;
            let profile = w
                .profiles
                .get_mut(&profile_id)
                .ok_or_else(|| Rejection::new("directory.profile_not_found"))?;
            if display_name.is_some() {
                profile.display_name = display_name;
            }
            if email.is_some() {
                profile.email = email;
            }
            Ok(())
        }))
    })
}

pub(crate) fn invite(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    let form = call.form()?;
    let directory_id = form.required("directoryId")?;
    let username = form.required("username")?;
    let owner = who.profile_id.clone();
    let command = Command::new("invite_profile", &who.profile_id, move |w, ctx| {
        let invitee = w
            .profiles
            .by_username(&username)
            .filter(|p| !p.pending)
            .map(|p| p.id.clone())
            .ok_or_else(|| Rejection::new("profile.not_found"))?;
        let directory = owned(w, &directory_id, &owner)?;
        if directory.members.contains(&invitee) || directory.owner == invitee {
            return Err(Rejection::new("directory.already_member"));
        }
        let already = w.directories.invitations.values().any(|i| {
            i.directory_id == directory_id && i.invitee == invitee && i.status == "pending"
        });
        if already {
            return Err(Rejection::new("directory.already_invited"));
        }
        let seq = w.directories.next_seq();
        w.directories.invitations.insert(
            ctx.id.to_owned(),
            Invitation {
                id: ctx.id.to_owned(),
                directory_id,
                invitee,
                status: "pending",
                seq,
            },
        );
        Ok(None)
    });
    Ok(commands::submit(s, &mut world, command))
}

/// Only for profiles the directory created.
pub(crate) fn set_password(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    directory_command(s, call, |form| {
        let profile_id = form.required("profileId")?;
        let password = form.required("password")?;
        Ok(Box::new(move |w: &mut World, dir: &str, owner: &str| {
            member(owned(w, dir, owner)?, &profile_id)?;
            let profile = w
                .profiles
                .get_mut(&profile_id)
                .filter(|p| p.directory_id.as_deref() == Some(dir))
                .ok_or_else(|| Rejection::new("directory.profile_not_managed"))?;
            profile.password = password;
            Ok(())
        }))
    })
}

pub(crate) fn list_invites(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    let mut invitations: Vec<&Invitation> = world
        .directories
        .invitations
        .values()
        .filter(|i| i.invitee == who.profile_id)
        .collect();
    invitations.sort_by_key(|i| i.seq);
    let list: Vec<Value> = invitations
        .into_iter()
        .map(|i| {
            let name = world
                .directories
                .by_id
                .get(&i.directory_id)
                .map(|d| d.name.clone());
            json!({
                "invitationId": i.id,
                "directoryId": i.directory_id,
                "directoryName": name,
                "status": i.status,
            })
        })
        .collect();
    ok(Value::Array(list))
}

pub(crate) fn process_invitation(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    let form = call.form()?;
    let id = form.required("invitationId")?;
    let accept = form.required_bool("accept")?;
    let me = who.profile_id.clone();
    let command = Command::new(
        "process_directory_invitation",
        &who.profile_id,
        move |w, _| {
            let invitation = w
                .directories
                .invitations
                .get_mut(&id)
                .filter(|i| i.invitee == me)
                .ok_or_else(|| Rejection::new("directory.invitation_not_found"))?;
            if invitation.status != "pending" {
                return Err(Rejection::new("directory.invitation_processed"));
            }
            invitation.status = if accept { "accepted" } else { "declined" };
            let directory_id = invitation.directory_id.clone();
            if accept && let Some(directory) = w.directories.by_id.get_mut(&directory_id) {
                directory.members.push(me);
            }
            Ok(None)
        },
    );
    Ok(commands::submit(s, &mut world, command))
}

/// Visible to the profile itself and to the owner of a directory it belongs to.
pub(crate) fn retrieve_profile(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    let id = call.param("profileId")?;
    let through = world
        .directories
        .by_id
        .values()
        .find(|d| {
            d.members.iter().any(|m| m == id) && (d.owner == who.profile_id || id == who.profile_id)
        })
        .map(|d| d.id.clone());
    let profile = world.profiles.get(id);
    match (profile, through) {
        (Some(p), Some(dir)) => ok(user_json(p, &dir)),
        (Some(p), None) if p.id == who.profile_id => {
            ok(user_json(p, p.directory_id.as_deref().unwrap_or("")))
        }
        _ => Err(ApiFailure::not_found(
            "directory.profile_not_found",
            "no profile visible to this profile has this id",
        )),
    }
}

pub(crate) fn list_users(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    with_visible(s, call, |world, directory| {
        let list: Vec<Value> = directory
            .members
            .iter()
            .filter_map(|m| world.profiles.get(m))
            .map(|p| user_json(p, &directory.id))
            .collect();
        ok(Value::Array(list))
    })
}

pub(crate) fn profiles_info(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    with_visible(s, call, |world, directory| {
        let pending = world
            .directories
            .invitations
            .values()
            .filter(|i| i.directory_id == directory.id && i.status == "pending")
            .count();
        ok(json!({
            "directoryId": directory.id,
            "profileCount": directory.members.len(),
            "deviceCount": directory.devices.len(),
            "pendingInvites": pending,
        }))
    })
}

/// A device for a member, created approved (the directory owner vouches for it).
pub(crate) fn create_device(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    directory_command(s, call, |form| {
        let profile_id = form.required("profileId")?;
        let name = form.required("deviceName")?;
        Ok(Box::new(move |w: &mut World, dir: &str, owner: &str| {
            member(owned(w, dir, owner)?, &profile_id)?;
            let mut device = new_device(&profile_id, name);
            device.status = DeviceStatus::Approved;
            let device_id = device.id.clone();
            w.devices.insert(None, device);
            owned(w, dir, owner)?.devices.push(device_id);
            Ok(())
        }))
    })
}

/// Gives a member's device (or one of the owner's) the storage role and lists it under the
/// directory.
pub(crate) fn add_storage_device(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    directory_command(s, call, |form| {
        let profile_id = form.required("profileId")?;
        let device_id = form.required("deviceIdentifier")?;
        Ok(Box::new(move |w: &mut World, dir: &str, owner: &str| {
            member(owned(w, dir, owner)?, &profile_id)?;
            let holder = if w.devices.get(&device_id, &profile_id).is_some() {
                profile_id
            } else {
                owner.to_owned()
            };
            let device = w
                .devices
                .get_mut(&device_id, &holder)
                .ok_or_else(|| Rejection::new("device.not_found"))?;
            device.storage = true;
            let directory = owned(w, dir, owner)?;
            if !directory.devices.contains(&device_id) {
                directory.devices.push(device_id);
            }
            Ok(())
        }))
    })
}

pub(crate) fn list_devices(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    with_visible(s, call, |world, directory| {
        let list: Vec<Value> = directory
            .devices
            .iter()
            .filter_map(|d| world.devices.get_any(d))
            .map(device_json)
            .collect();
        ok(Value::Array(list))
    })
}

/// The command id becomes the pool id, which check-pool-status answers for.
pub(crate) fn create_voting_pool(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    let mut world = lock(&s.world);
    let who = caller(s, &mut world, call)?;
    let form = call.form()?;
    let directory_id = form.required("directoryId")?;
    form.required("name")?;
    let config_name = form.required("votingConfigurationName")?;
    let owner = who.profile_id.clone();
    let command = Command::new(
        "create_directory_voting_pool",
        &who.profile_id,
        move |w, ctx| {
            owned(w, &directory_id, &owner)?;
            let time_limit = w
                .voting
                .config(&owner, &config_name)
                .map(|c| c.time_limit)
                .ok_or_else(|| Rejection::new("voting.configuration_not_found"))?;
            w.voting.pools.insert(
                ctx.id.to_owned(),
                Pool {
                    profile_id: owner.clone(),
                    created_at: ctx.now,
                    time_limit,
                },
            );
            owned(w, &directory_id, &owner)?
                .pools
                .push(ctx.id.to_owned());
            Ok(None)
        },
    );
    Ok(commands::submit(s, &mut world, command))
}

pub(crate) fn store_meta(s: &Arc<Shared>, call: &Call) -> Result<Reply, ApiFailure> {
    directory_command(s, call, |form| {
        let key = form.required("key")?;
        let value = form.required("value")?;
        Ok(Box::new(move |w: &mut World, dir: &str, owner: &str| {
            owned(w, dir, owner)?.meta.insert(key, value);
            Ok(())
        }))
    })
}
