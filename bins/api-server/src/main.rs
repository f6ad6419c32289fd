//! The HTTP API of the publishing scheduler (not built yet: see the README's status table).

fn main() -> std::process::ExitCode {
    eprintln!("api-server: the HTTP API is not built yet; see the README's status table");
    std::process::ExitCode::FAILURE
}
