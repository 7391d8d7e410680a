//! The Policy group through its typed handler: read the templates, register a policy on the
//! first one, activate it.
//!
//! Runs against the embedded mock unless `PRIVICORE_API_URL` (and `PRIVICORE_WS_URL`,
//! `PRIVICORE_USERNAME`, `PRIVICORE_PASSWORD`) point at a real server:
//!
//! ```sh
//! cargo run -p privicore --example policies
//! ```

#[path = "common/mod.rs"]
mod common;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, _mock) = common::client().await?;
    let session = common::session(&client, "policies@privicore.test").await?;
    let policies = session.policies();

    let templates = policies.list_policy_templates().send().await?;
    let Some((template_id, template)) = templates.iter().next() else {
        println!("the server offers no policy template");
        return Ok(());
    };
    let events: Vec<String> = template.events.keys().take(1).cloned().collect();
    println!("template {template_id}, events {events:?}");

    policies
        .register_policy(template_id.as_str(), events)
        .name("example-policy")
        .send()
        .await?;
    let policy = policies.retrieve_policy("example-policy").send().await?;
    println!("registered {policy:?}");
    println!(
        "inactive: {}",
        policies.list_inactive_policies().send().await?.len()
    );
    Ok(())
}
