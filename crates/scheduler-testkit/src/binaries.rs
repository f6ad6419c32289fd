//! Finding the workspace's built binaries from the running test executable.

use std::path::PathBuf;

/// The path of the workspace binary `name` (`api-server`, `tick-runner`) of the profile the
/// tests were built with: a test executable lives in `target/<profile>/deps/`, the binaries in
/// `target/<profile>/`. Panics with the command to run when the binary is not built
/// (`cargo test --workspace` builds every binary before it runs the tests; `cargo test -p e2e`
/// alone does not).
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the path of the test executable");
    let mut dir = exe
        .parent()
        .expect("the test executable's directory")
        .to_path_buf();
    // Tests run from `deps/`, examples from `examples/`.
    if dir.ends_with("deps") || dir.ends_with("examples") {
        dir.pop();
    }
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "the binary {name} is not built at {}: run `cargo build --workspace` first \
         (or `cargo test --workspace`, which builds it)",
        path.display()
    );
    path
}
