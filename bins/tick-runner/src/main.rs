//! The tick as a command for crontab (not built yet: see the README's status table).

fn main() -> std::process::ExitCode {
    eprintln!("tick-runner: not built yet; see the README's status table");
    std::process::ExitCode::FAILURE
}
