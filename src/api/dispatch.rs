//! Command name → handler: one `match`, one table of supported names (`list-commands`).

use tracing::info;

use super::envelope::{Answer, ApiError, Command, UNSUPPORTED};
use super::{host_cmds, lease_cmds, server_cmds, stats, ApiState};

/// Every command shoal answers, as `list-commands` reports them.
pub const COMMANDS: &[&str] = &[
    "build-report",
    "config-get",
    "config-hash-get",
    "config-reload",
    "config-test",
    "lease4-del",
    "lease4-get",
    "lease4-get-all",
    "lease4-get-by-client-id",
    "lease4-get-by-hw-address",
    "leases-reclaim",
    "list-commands",
    "reservation-add",
    "reservation-del",
    "reservation-get",
    "shutdown",
    "statistic-get",
    "statistic-get-all",
    "statistic-reset",
    "statistic-reset-all",
    "status-get",
    "version-get",
];

/// Run one command and build its answer (never fails: errors are answers).
pub async fn run(state: &ApiState, cmd: &Command) -> Answer {
    info!(command = %cmd.name, "control command received");
    match dispatch(state, cmd).await {
        Ok(answer) => answer,
        Err(e) => Answer::from(e),
    }
}

async fn dispatch(state: &ApiState, cmd: &Command) -> Result<Answer, ApiError> {
    let a = &cmd.arguments;
    match cmd.name.as_str() {
        "list-commands" => Ok(Answer::ok_with(
            format!("{} commands supported.", COMMANDS.len()),
            serde_json::json!(COMMANDS),
        )),
        "version-get" => Ok(server_cmds::version_get()),
        "build-report" => Ok(server_cmds::build_report()),
        "status-get" => Ok(server_cmds::status_get(state)),
        "config-get" => Ok(server_cmds::config_get(state)),
        "config-hash-get" => Ok(server_cmds::config_hash_get(state)),
        "config-test" => server_cmds::config_test(a),
        "config-reload" => Ok(server_cmds::config_reload(state).await),
        "shutdown" => server_cmds::shutdown(state, a),
        "leases-reclaim" => server_cmds::leases_reclaim(state, a).await,
        "statistic-get" => stats::get(state, a).await,
        "statistic-get-all" => stats::get_all(state).await,
        "statistic-reset" => stats::reset(state, a),
        "statistic-reset-all" => Ok(stats::reset_all(state)),
        "lease4-get" => lease_cmds::get(state, a).await,
        "lease4-get-all" => lease_cmds::get_all(state, a).await,
        "lease4-get-by-hw-address" => lease_cmds::get_by_hw_address(state, a).await,
        "lease4-get-by-client-id" => lease_cmds::get_by_client_id(state, a).await,
        "lease4-del" => lease_cmds::del(state, a).await,
        "reservation-add" => host_cmds::add(state, a).await,
        "reservation-get" => host_cmds::get(state, a).await,
        "reservation-del" => host_cmds::del(state, a).await,
        other => Ok(Answer::new(
            UNSUPPORTED,
            format!("'{other}' command not supported."),
            None,
        )),
    }
}
