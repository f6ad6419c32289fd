//! Running a binary as a user that file permissions bind.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use scheduler_store::{Conn, DatabaseUrl, Db, Mode, OpenOptions};

/// The uid and gid of `nobody` on Debian and most Linux systems.
const NOBODY: u32 = 65_534;

/// A command that runs `binary` as a user whom file permissions bind: the current user, or,
/// when the tests run as root (who may write any file, so a read-only file would prove
/// nothing), `nobody`. For root the binary is copied into `dir/bin` first, since `nobody` may
/// not reach the build directory; `dir` is made world-writable, so `nobody` may create files
/// in it (a database's `-wal` and `-shm`).
pub fn unprivileged(binary: &Path, dir: &Path) -> Command {
    // `/proc/self` belongs to the process's user.
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    if !root {
        return Command::new(binary);
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777))
        .expect("the test directory's permissions");
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("a directory for the binary");
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755))
        .expect("the binary directory's permissions");
    let copy = bin.join(binary.file_name().expect("a binary file name"));
    std::fs::copy(binary, &copy).expect("a copy of the binary");
    let mut command = Command::new(copy);
    command.uid(NOBODY).gid(NOBODY).current_dir(dir);
    command
}

/// A migrated SQLite database at `dir/read-only.db`, written by `seed`, closed, then made
/// readable by everyone and writable by no one; its path and what `seed` returned.
pub fn read_only_sqlite<T>(dir: &Path, seed: impl FnOnce(&mut Conn) -> T) -> (String, T) {
    let path = dir.join("read-only.db");
    let url = path.to_str().expect("a UTF-8 path").to_owned();
    let db = Db::open(
        &DatabaseUrl::Sqlite(url.clone()),
        &OpenOptions {
            mode: Mode::Migrate,
            ..OpenOptions::default()
        },
    )
    .expect("the database opens");
    let seeded = seed(&mut db.writer().expect("a connection"));
    drop(db);
    for leftover in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{url}{leftover}"));
    }
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444))
        .expect("the file's permissions");
    (url, seeded)
}
