//! `privicore config`: the settings in effect and where each comes from, secrets masked.

use crate::cli::ConfigArgs;
use crate::config::ChosenBy;
use crate::error::Result;
use crate::output;
use crate::output::json::{ConfigReport, SecretSetting, Setting};
use crate::settings::{self, Resolved, SecretSource};

/// Resolves every setting exactly as a command would (the same flags are accepted), and
/// prints each with its source. Secrets are never read, let alone shown: only whether one is
/// set and where it would come from (a command is not run).
pub async fn show(args: ConfigArgs) -> Result<()> {
    let report = report(&args)?;
    if args.json {
        return output::json(&report);
    }
    let mut text = format!(
        "config file    {} ({}{})\n",
        report.config_file.as_deref().unwrap_or("-"),
        report.config_file_source,
        if report.config_file_found {
            ""
        } else {
            ", not found"
        },
    );
    for (name, setting) in [
        ("profile", &report.profile),
        ("api_url", &report.api_url),
        ("ws_url", &report.ws_url),
        ("username", &report.username),
        ("token_file", &report.token_file),
    ] {
        text.push_str(&match (&setting.value, &setting.source) {
            (Some(value), Some(source)) => format!("{name:<14} {value} ({source})\n"),
            _ => format!("{name:<14} not set\n"),
        });
    }
    for (name, secret) in [
        ("password", &report.password),
        ("vault_key", &report.vault_key),
        ("client_secret", &report.client_secret),
    ] {
        text.push_str(&match &secret.source {
            Some(source) => format!("{name:<14} set ({source})\n"),
            None => format!("{name:<14} not set\n"),
        });
    }
    output::line(text.trim_end())
}

fn report(args: &ConfigArgs) -> Result<ConfigReport> {
    let config = settings::config()?;
    let profile = match config.profile() {
        Some(selected) => Setting {
            value: Some(selected.name.clone()),
            source: Some(chosen_by(&selected.chosen_by)),
        },
        None => Setting {
            value: None,
            source: None,
        },
    };
    let (token_file, token_source) =
        settings::token_file_setting(args.token_file.token_file.clone(), false)?;
    let [password, vault_key, client_secret] = settings::secret_sources()?.map(masked);
    Ok(ConfigReport {
        config_file: config.path.as_ref().map(|p| p.display().to_string()),
        config_file_source: chosen_by(&config.path_chosen_by),
        config_file_found: config.found,
        profile,
        api_url: setting(settings::api_url(&args.login.server)?),
        ws_url: setting(settings::ws_url(&args.login.server)?),
        username: setting(settings::username_setting(&args.login)?),
        token_file: Setting {
            value: Some(token_file.display().to_string()),
            source: Some(token_source.to_string()),
        },
        password,
        vault_key,
        client_secret,
    })
}

fn setting(resolved: Option<Resolved>) -> Setting {
    match resolved {
        Some(r) => Setting {
            value: Some(r.value),
            source: Some(r.source.to_string()),
        },
        None => Setting {
            value: None,
            source: None,
        },
    }
}

fn masked(source: SecretSource) -> SecretSetting {
    match source {
        SecretSource::Env(name) => SecretSetting {
            set: true,
            source: Some(format!("env {name}")),
        },
        SecretSource::Command { profile, setting } => SecretSetting {
            set: true,
            source: Some(format!("command {setting}, file:{profile}")),
        },
        SecretSource::NotSet => SecretSetting {
            set: false,
            source: None,
        },
    }
}

fn chosen_by(chosen_by: &ChosenBy) -> String {
    match chosen_by {
        ChosenBy::Flag => "flag".to_owned(),
        ChosenBy::Env(name) => format!("env {name}"),
        ChosenBy::File => "file default_profile".to_owned(),
        ChosenBy::Default => "default".to_owned(),
    }
}
