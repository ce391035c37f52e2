//! The `cityhall` command as a user runs it: the real binary, a fresh data folder per test.
//!
//! Each test tells one story: what the operator types, what they must see, and what must be
//! true of the data folder afterwards. The audit tests tamper with the SQLite file directly,
//! the way an intruder with access to the disk would, and expect `audit verify` to notice.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use cityhall_core::audit::ChainEntry;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{Row, SqlitePool};
use tempfile::TempDir;

const PASSWORD: &str = "mật khẩu đủ dài 2030";

// ---------------------------------------------------------------------------------------------
// Running the binary
// ---------------------------------------------------------------------------------------------

/// What one run of the command printed and how it ended.
#[derive(Debug)]
struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Run {
    fn ok(&self) -> bool {
        self.status.success()
    }

    /// Everything the user saw, both streams.
    fn output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    #[track_caller]
    fn assert_ok(&self) -> &Self {
        assert!(self.ok(), "expected success, got {self:#?}");
        self
    }

    #[track_caller]
    fn assert_fails_with(&self, needle: &str) -> &Self {
        assert!(!self.ok(), "expected a failure, got {self:#?}");
        assert!(
            self.output().contains(needle),
            "expected the output to mention {needle:?}, got {self:#?}"
        );
        self
    }
}

/// A `cityhall` command with a clean environment: no `CITYHALL_*` variables from the
/// developer's shell, no `./cityhall.toml` (it runs in a scratch folder), no colours.
fn cityhall(cwd: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cityhall"));
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("CITYHALL_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("NO_COLOR", "1").current_dir(cwd);
    cmd
}

/// Runs to completion with `stdin` as standard input (failed writes are fine: a command
/// may refuse before it reads).
fn run_with_stdin(mut cmd: Command, stdin: &str) -> Run {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("the cityhall binary starts");
    if let Some(mut input) = child.stdin.take() {
        let _ = input.write_all(stdin.as_bytes());
    }
    let out = child.wait_with_output().expect("cityhall runs");
    Run {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A scratch folder for one test: the working directory, with the data folder inside it.
struct Site {
    tmp: TempDir,
}

impl Site {
    fn new() -> Site {
        Site {
            tmp: tempfile::Builder::new()
                .prefix("cityhall-cli")
                .tempdir()
                .expect("temp dir"),
        }
    }

    fn root(&self) -> &Path {
        self.tmp.path()
    }

    fn data(&self) -> PathBuf {
        self.root().join("data")
    }

    fn db_file(&self) -> PathBuf {
        self.data().join("cityhall.db")
    }

    /// `cityhall --data-dir DATA ARGS…`
    fn cmd(&self, args: &[&str]) -> Command {
        self.cmd_in(&self.data(), args)
    }

    fn cmd_in(&self, data: &Path, args: &[&str]) -> Command {
        let mut cmd = cityhall(self.root());
        cmd.arg("--data-dir").arg(data).args(args);
        cmd
    }

    fn run(&self, args: &[&str]) -> Run {
        run_with_stdin(self.cmd(args), "")
    }

    /// `cityhall user add` with the password typed on standard input.
    fn add_user(&self, username: &str, role: &str, agency: Option<&str>, password: &str) -> Run {
        let mut args = vec!["user", "add", "--username", username, "--role", role];
        if let Some(a) = agency {
            args.extend(["--agency", a]);
        }
        run_with_stdin(self.cmd(&args), &format!("{password}\n"))
    }

    /// A data folder with a few accounts, each of which wrote and sealed audit entries.
    fn with_accounts(&self) -> &Self {
        self.add_user("officer.x", "officer", Some("SOTUPHAP"), PASSWORD)
            .assert_ok();
        self.add_user("citizen.a", "citizen", None, PASSWORD)
            .assert_ok();
        self.add_user("citizen.b", "citizen", None, PASSWORD)
            .assert_ok();
        self.add_user("auditor.c", "auditor", None, PASSWORD)
            .assert_ok();
        self
    }

    fn verify(&self) -> Run {
        self.run(&["audit", "verify"])
    }
}

/// Waits for a child to exit, at most `limit`.
fn wait_at_most(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A child process that is killed if the test panics before it ends.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Runs a command that may hang, killing it after `limit`. Returns the run and how long it took.
fn run_with_timeout(mut cmd: Command, limit: Duration, logs: &Path) -> (Run, Duration) {
    let out = std::fs::File::create(logs.join("out.log")).unwrap();
    let err = std::fs::File::create(logs.join("err.log")).unwrap();
    cmd.stdin(Stdio::null()).stdout(out).stderr(err);
    let started = Instant::now();
    let mut guard = Guard(cmd.spawn().expect("the cityhall binary starts"));
    let status = wait_at_most(&mut guard.0, limit)
        .unwrap_or_else(|| panic!("cityhall did not give up within {limit:?}"));
    let took = started.elapsed();
    let run = Run {
        status,
        stdout: std::fs::read_to_string(logs.join("out.log")).unwrap(),
        stderr: std::fs::read_to_string(logs.join("err.log")).unwrap(),
    };
    (run, took)
}

// ---------------------------------------------------------------------------------------------
// Touching the database behind the binary's back
// ---------------------------------------------------------------------------------------------

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

async fn open_db(path: &Path) -> SqlitePool {
    assert!(path.exists(), "{} should exist", path.display());
    let opts = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
        .expect("sqlite url")
        .create_if_missing(false);
    SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(opts)
        .await
        .expect("open the SQLite file")
}

/// Runs statements in one transaction against the data folder's database.
fn tamper(db: &Path, statements: &[&str]) {
    block_on(async {
        let pool = open_db(db).await;
        let mut tx = pool.begin().await.unwrap();
        for s in statements {
            sqlx::query(s)
                .execute(&mut *tx)
                .await
                .unwrap_or_else(|e| panic!("{s}: {e}"));
        }
        tx.commit().await.unwrap();
        pool.close().await;
    })
}

fn sealed_count(db: &Path) -> i64 {
    block_on(async {
        let pool = open_db(db).await;
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE seq IS NOT NULL")
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        n
    })
}

/// An audit row as stored.
struct Stored {
    seq: i64,
    id: String,
    at: i64,
    actor: String,
    action: String,
    object_type: String,
    object_id: String,
    subject: Option<String>,
    digest: String,
}

impl Stored {
    fn chain(&self, seq: i64) -> ChainEntry<'_> {
        ChainEntry {
            seq,
            id: &self.id,
            at_micros: self.at,
            actor: &self.actor,
            action: &self.action,
            object_type: &self.object_type,
            object_id: &self.object_id,
            subject_user_id: self.subject.as_deref(),
            digest: &self.digest,
        }
    }
}

async fn chain_rows(pool: &SqlitePool) -> Vec<Stored> {
    sqlx::query(
        "SELECT seq, id, at, actor, action, object_type, object_id, subject_user_id, digest \
         FROM audit_log WHERE seq IS NOT NULL ORDER BY seq",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    .into_iter()
    .map(|r| Stored {
        seq: r.get(0),
        id: r.get(1),
        at: r.get(2),
        actor: r.get(3),
        action: r.get(4),
        object_type: r.get(5),
        object_id: r.get(6),
        subject: r.get(7),
        digest: r.get(8),
    })
    .collect()
}

/// Inserts a forged entry at `at_seq`, moving the entries from there on one place down, the
/// way a careful forger would: the forged entry links to the entry before it and its own
/// hash is computed correctly. With `rewrite_rest`, the forger also recomputes every later
/// hash and the head, so only the signed checkpoints can tell.
fn forge_entry(db: &Path, at_seq: i64, rewrite_rest: bool) {
    block_on(async {
        let pool = open_db(db).await;
        let mut rows = chain_rows(&pool).await;
        assert!(
            rows.len() as i64 > at_seq,
            "need entries after #{at_seq} to forge in the middle of the chain"
        );
        let before = &rows[(at_seq - 2) as usize];
        let forged = Stored {
            seq: at_seq,
            id: "00000000-0000-7000-8000-00000000f0f0".into(),
            at: before.at + 1,
            actor: "cli".into(),
            action: "user.role_granted".into(),
            object_type: "user".into(),
            object_id: rows[0].object_id.clone(),
            subject: None,
            digest: cityhall_core::audit::digest("{\"role\":\"city_admin\"}"),
        };
        let prev_hash: String = sqlx::query_scalar("SELECT hash FROM audit_log WHERE seq = $1")
            .bind(at_seq - 1)
            .fetch_one(&pool)
            .await
            .unwrap();
        let forged_hash = forged.chain(at_seq).hash(&prev_hash);

        let mut tx = pool.begin().await.unwrap();
        // Two steps, because `seq` is UNIQUE and SQLite checks it row by row.
        sqlx::query("UPDATE audit_log SET seq = -seq - 1 WHERE seq >= $1")
            .bind(at_seq)
            .execute(&mut *tx)
            .await
            .unwrap();
        sqlx::query("UPDATE audit_log SET seq = -seq WHERE seq < 0")
            .execute(&mut *tx)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO audit_log (id, seq, at, actor, action, object_type, object_id, \
             subject_user_id, detail, digest, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $9, $10, $11)",
        )
        .bind(&forged.id)
        .bind(at_seq)
        .bind(forged.at)
        .bind(&forged.actor)
        .bind(&forged.action)
        .bind(&forged.object_type)
        .bind(&forged.object_id)
        .bind("{\"role\":\"city_admin\"}")
        .bind(&forged.digest)
        .bind(&prev_hash)
        .bind(&forged_hash)
        .execute(&mut *tx)
        .await
        .unwrap();

        if rewrite_rest {
            let mut prev = forged_hash;
            let mut seq = at_seq;
            for row in rows.iter_mut().skip((at_seq - 1) as usize) {
                seq += 1;
                row.seq = seq;
                let h = row.chain(seq).hash(&prev);
                sqlx::query("UPDATE audit_log SET prev_hash = $1, hash = $2 WHERE id = $3")
                    .bind(&prev)
                    .bind(&h)
                    .bind(&row.id)
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                prev = h;
            }
            sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
                .bind(seq)
                .bind(&prev)
                .execute(&mut *tx)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        pool.close().await;
    })
}

// ---------------------------------------------------------------------------------------------
// 1. The calendar
// ---------------------------------------------------------------------------------------------

#[test]
fn calendar_lists_a_years_holidays_one_dated_line_each() {
    let site = Site::new();
    let run = site.run(&["calendar", "holidays", "2030"]);
    run.assert_ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(!lines.is_empty(), "no holidays printed: {run:#?}");

    // Every line is `YYYY-MM-DD name`, in the asked year, in date order.
    let mut dates = Vec::new();
    for line in &lines {
        let (date, name) = line
            .split_once(' ')
            .unwrap_or_else(|| panic!("not `DATE name`: {line:?}"));
        let b = date.as_bytes();
        assert!(
            date.len() == 10
                && b[4] == b'-'
                && b[7] == b'-'
                && date
                    .chars()
                    .enumerate()
                    .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit()),
            "not a YYYY-MM-DD date: {line:?}"
        );
        assert!(date.starts_with("2030-"), "a date outside 2030: {line:?}");
        assert!(
            !name.trim().is_empty(),
            "a holiday without a name: {line:?}"
        );
        dates.push(date);
    }
    let mut sorted = dates.clone();
    sorted.sort();
    assert_eq!(dates, sorted, "holidays are listed in date order");

    // Tết 2030 falls on 2 February in Vietnam (UTC+7).
    assert!(
        lines.contains(&"2030-02-02 Tết Nguyên Đán (mùng 1)"),
        "the first day of Tết 2030 is 2 February: {lines:#?}"
    );
    for fixed in [
        "2030-01-01 ",
        "2030-04-30 ",
        "2030-05-01 ",
        "2030-09-02 ",
        "2030-11-24 ",
    ] {
        assert!(
            lines.iter().any(|l| l.starts_with(fixed)),
            "missing the holiday on {fixed}: {lines:#?}"
        );
    }
    // Holidays that fall on a weekend give a day off in lieu.
    assert!(
        lines.iter().any(|l| l.contains("Nghỉ bù")),
        "2030 has substitute days off (Tết falls on a weekend): {lines:#?}"
    );
}

#[test]
fn calendar_2025_predates_the_culture_day_holiday() {
    let site = Site::new();
    let run = site.run(&["calendar", "holidays", "2025"]);
    run.assert_ok();
    assert!(run.stdout.contains("2025-01-01 "), "{run:#?}");
    assert!(
        !run.stdout.contains("2025-11-24"),
        "24/11 became a holiday only from 2026: {run:#?}"
    );
}

#[test]
fn calendar_refuses_a_year_it_cannot_compute() {
    let site = Site::new();
    site.run(&["calendar", "holidays", "1800"])
        .assert_fails_with("1800");
    site.run(&["calendar", "holidays", "2500"])
        .assert_fails_with("2500");
}

// ---------------------------------------------------------------------------------------------
// Logs
// ---------------------------------------------------------------------------------------------

#[test]
fn logs_written_to_a_file_carry_no_colour_codes() {
    let site = Site::new();
    // Without NO_COLOR: standard error is a pipe here, not a terminal.
    let mut cmd = site.cmd(&[
        "user",
        "add",
        "--username",
        "citizen.a",
        "--role",
        "citizen",
    ]);
    cmd.env_remove("NO_COLOR");
    let run = run_with_stdin(cmd, &format!("{PASSWORD}\n"));
    run.assert_ok();
    assert!(run.stderr.contains("generated a new key"), "{run:#?}");
    assert!(!run.stderr.contains('\u{1b}'), "{run:#?}");
}

// ---------------------------------------------------------------------------------------------
// 2. Migrations
// ---------------------------------------------------------------------------------------------

#[test]
fn migrate_creates_the_database_and_can_run_again() {
    let site = Site::new();
    assert!(!site.data().exists());
    site.run(&["migrate"]).assert_ok();
    assert!(site.db_file().is_file(), "migrate creates DATA/cityhall.db");
    site.run(&["migrate"]).assert_ok();
    assert!(site.db_file().is_file());
}

// ---------------------------------------------------------------------------------------------
// 3. Accounts
// ---------------------------------------------------------------------------------------------

#[test]
fn user_add_creates_an_officer_once() {
    let site = Site::new();
    let run = site.add_user("officer.x", "officer", Some("SOTUPHAP"), PASSWORD);
    run.assert_ok();
    assert!(run.stdout.contains("officer.x"), "{run:#?}");
    assert!(
        !run.output().contains(PASSWORD),
        "the password is never echoed: {run:#?}"
    );

    // The same username again is refused, whatever the role.
    site.add_user("officer.x", "officer", Some("SOTUPHAP"), PASSWORD)
        .assert_fails_with("taken");
    site.add_user("officer.x", "citizen", None, PASSWORD)
        .assert_fails_with("taken");
}

#[test]
fn user_add_explains_what_is_wrong() {
    let site = Site::new();
    // An officer belongs to an agency.
    site.add_user("officer.y", "officer", None, PASSWORD)
        .assert_fails_with("--agency");
    // A role that does not exist; the message lists the real ones.
    site.add_user("someone", "mayor", None, PASSWORD)
        .assert_fails_with("unknown role mayor")
        .assert_fails_with("citizen");
    // A password that is too short.
    site.add_user("citizen.short", "citizen", None, "abc")
        .assert_fails_with("password");
    // An agency that is not in the reference data.
    site.add_user("officer.z", "officer", Some("NO-SUCH-AGENCY"), PASSWORD)
        .assert_fails_with("no agency with code NO-SUCH-AGENCY");
    // A citizen is not scoped to an agency.
    site.add_user("citizen.d", "citizen", Some("SOTUPHAP"), PASSWORD)
        .assert_fails_with("--agency");

    // None of the refusals created an account: the names are all still free.
    site.add_user("officer.y", "officer", Some("SOTUPHAP"), PASSWORD)
        .assert_ok();
    site.add_user("citizen.short", "citizen", None, PASSWORD)
        .assert_ok();
    site.add_user("officer.z", "officer", Some("sotuphap"), PASSWORD)
        .assert_ok();
    site.verify().assert_ok();
}

// ---------------------------------------------------------------------------------------------
// 4. The audit log
// ---------------------------------------------------------------------------------------------

#[test]
fn audit_verify_passes_on_an_untouched_log() {
    let site = Site::new();
    site.with_accounts();
    let run = site.verify();
    run.assert_ok();
    assert!(run.stdout.contains("OK"), "{run:#?}");
    assert!(
        sealed_count(&site.db_file()) >= 4,
        "each of the four accounts was recorded and sealed"
    );
}

#[test]
fn audit_verify_names_an_entry_whose_actor_was_edited() {
    let site = Site::new();
    site.with_accounts().verify().assert_ok();
    tamper(
        &site.db_file(),
        &["UPDATE audit_log SET actor = 'someone-else' WHERE seq = 3"],
    );
    let run = site.verify();
    assert_eq!(run.status.code(), Some(1), "{run:#?}");
    assert!(run.stdout.contains("TAMPERED"), "{run:#?}");
    assert!(
        run.stdout.contains("#3"),
        "names the edited entry: {run:#?}"
    );
    assert!(!run.stdout.contains("OK"), "{run:#?}");
}

#[test]
fn audit_verify_notices_an_edited_detail() {
    let site = Site::new();
    site.with_accounts().verify().assert_ok();
    tamper(
        &site.db_file(),
        &["UPDATE audit_log SET detail = '{\"edited\":true}' WHERE seq = 2"],
    );
    let run = site.verify();
    assert_eq!(run.status.code(), Some(1), "{run:#?}");
    assert!(run.stdout.contains("#2"), "{run:#?}");
}

#[test]
fn audit_verify_notices_a_deleted_entry() {
    let site = Site::new();
    site.with_accounts().verify().assert_ok();
    tamper(&site.db_file(), &["DELETE FROM audit_log WHERE seq = 3"]);
    let run = site.verify();
    assert_eq!(run.status.code(), Some(1), "{run:#?}");
    assert!(run.stdout.contains("TAMPERED"), "{run:#?}");
    assert!(run.stdout.contains("#3"), "says where the gap is: {run:#?}");
}

#[test]
fn audit_verify_notices_that_the_newest_entry_was_deleted() {
    let site = Site::new();
    site.with_accounts().verify().assert_ok();
    tamper(
        &site.db_file(),
        &["DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)"],
    );
    let run = site.verify();
    assert_eq!(run.status.code(), Some(1), "{run:#?}");
    assert!(run.stdout.contains("TAMPERED"), "{run:#?}");
}

#[test]
fn audit_verify_notices_reordered_entries() {
    let site = Site::new();
    site.with_accounts().verify().assert_ok();
    // Swap #2 and #3 (in three steps, as `seq` is unique).
    tamper(
        &site.db_file(),
        &[
            "UPDATE audit_log SET seq = -2 WHERE seq = 2",
            "UPDATE audit_log SET seq = 2 WHERE seq = 3",
            "UPDATE audit_log SET seq = 3 WHERE seq = -2",
        ],
    );
    let run = site.verify();
    assert_eq!(run.status.code(), Some(1), "{run:#?}");
    assert!(run.stdout.contains("TAMPERED"), "{run:#?}");
    assert!(run.stdout.contains("#2"), "{run:#?}");
}

#[test]
fn audit_verify_notices_a_forged_entry_inserted_in_the_chain() {
    let site = Site::new();
    site.with_accounts().verify().assert_ok();
    forge_entry(&site.db_file(), 3, false);
    let run = site.verify();
    assert_eq!(run.status.code(), Some(1), "{run:#?}");
    assert!(run.stdout.contains("TAMPERED"), "{run:#?}");
    assert!(
        run.stdout.contains("#4"),
        "the entry after the forgery: {run:#?}"
    );
}

#[test]
fn signed_checkpoints_catch_a_forger_who_rewrites_the_rest_of_the_chain() {
    let site = Site::new();
    // A checkpoint every two entries.
    for (name, role) in [
        ("citizen.a", "citizen"),
        ("citizen.b", "citizen"),
        ("auditor.c", "auditor"),
    ] {
        let mut cmd = site.cmd(&["user", "add", "--username", name, "--role", role]);
        cmd.env("CITYHALL_AUDIT_CHECKPOINT_EVERY", "2");
        run_with_stdin(cmd, &format!("{PASSWORD}\n")).assert_ok();
    }
    let run = site.verify();
    run.assert_ok();
    assert!(
        !run.stdout.contains("signed checkpoints: 0"),
        "checkpoints were signed: {run:#?}"
    );

    // The forged entry links correctly, and every later hash and the head are recomputed:
    // the chain itself is consistent again. Only the signatures can tell.
    forge_entry(&site.db_file(), 2, true);
    let run = site.verify();
    assert_eq!(run.status.code(), Some(1), "{run:#?}");
    // The signed head or a signed checkpoint no longer matches the recomputed chain.
    assert!(
        run.stdout.contains("TAMPERED: checkpoint") || run.stdout.contains("TAMPERED: the head"),
        "{run:#?}"
    );
}

// ---------------------------------------------------------------------------------------------
// 5. Backup and restore
// ---------------------------------------------------------------------------------------------

#[test]
fn a_backup_restores_into_a_working_copy() {
    let site = Site::new();
    site.with_accounts().verify().assert_ok();
    let file = site.root().join("cityhall-backup.tar");
    site.run(&["backup", file.to_str().unwrap()]).assert_ok();
    assert!(file.is_file());

    let copy = site.root().join("restored");
    run_with_stdin(site.cmd_in(&copy, &["restore", file.to_str().unwrap()]), "").assert_ok();
    assert!(copy.join("cityhall.db").is_file());

    // The copy's audit log verifies with the restored key…
    let run = run_with_stdin(site.cmd_in(&copy, &["audit", "verify"]), "");
    run.assert_ok();
    assert!(run.stdout.contains("OK"), "{run:#?}");
    // …and holds the accounts made before the backup.
    run_with_stdin(
        site.cmd_in(
            &copy,
            &[
                "user",
                "add",
                "--username",
                "citizen.a",
                "--role",
                "citizen",
            ],
        ),
        &format!("{PASSWORD}\n"),
    )
    .assert_fails_with("taken");
    // It is a working database: new accounts can be added and the log stays intact.
    run_with_stdin(
        site.cmd_in(
            &copy,
            &[
                "user",
                "add",
                "--username",
                "citizen.new",
                "--role",
                "citizen",
            ],
        ),
        &format!("{PASSWORD}\n"),
    )
    .assert_ok();
    run_with_stdin(site.cmd_in(&copy, &["audit", "verify"]), "").assert_ok();
}

#[test]
fn restore_does_not_overwrite_a_database_without_force() {
    let site = Site::new();
    site.with_accounts();
    let file = site.root().join("backup.tar");
    site.run(&["backup", file.to_str().unwrap()]).assert_ok();

    // Another site with its own account.
    let other = site.root().join("other");
    run_with_stdin(
        site.cmd_in(
            &other,
            &[
                "user",
                "add",
                "--username",
                "only.here",
                "--role",
                "citizen",
            ],
        ),
        &format!("{PASSWORD}\n"),
    )
    .assert_ok();

    run_with_stdin(
        site.cmd_in(&other, &["restore", file.to_str().unwrap()]),
        "",
    )
    .assert_fails_with("--force");
    // Nothing was replaced: the account of the other site is still there.
    run_with_stdin(
        site.cmd_in(
            &other,
            &[
                "user",
                "add",
                "--username",
                "only.here",
                "--role",
                "citizen",
            ],
        ),
        &format!("{PASSWORD}\n"),
    )
    .assert_fails_with("taken");

    // With --force, the backup replaces it.
    run_with_stdin(
        site.cmd_in(&other, &["restore", "--force", file.to_str().unwrap()]),
        "",
    )
    .assert_ok();
    run_with_stdin(site.cmd_in(&other, &["audit", "verify"]), "").assert_ok();
    run_with_stdin(
        site.cmd_in(
            &other,
            &[
                "user",
                "add",
                "--username",
                "officer.x",
                "--role",
                "citizen",
            ],
        ),
        &format!("{PASSWORD}\n"),
    )
    .assert_fails_with("taken");
}

#[test]
fn restore_refuses_a_file_that_is_not_a_backup() {
    let site = Site::new();
    let bogus = site.root().join("notes.txt");
    std::fs::write(&bogus, "not a tar archive").unwrap();
    let run = site.run(&["restore", bogus.to_str().unwrap()]);
    assert!(!run.ok(), "{run:#?}");
    assert!(!site.db_file().exists(), "no database appeared: {run:#?}");
}

#[test]
fn a_truncated_backup_does_not_replace_a_working_database() {
    let site = Site::new();
    site.with_accounts();
    let file = site.root().join("backup.tar");
    site.run(&["backup", file.to_str().unwrap()]).assert_ok();
    // The copy was cut short (a full disk, an interrupted transfer).
    let bytes = std::fs::read(&file).unwrap();
    let cut = site.root().join("cut.tar");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();

    site.run(&["restore", "--force", cut.to_str().unwrap()])
        .assert_fails_with("not a complete cityhall backup");
    // The site still works, with its log and its accounts.
    site.verify().assert_ok();
    site.add_user("citizen.a", "citizen", None, PASSWORD)
        .assert_fails_with("taken");

    // An empty file is not a backup either.
    let empty = site.root().join("empty.tar");
    std::fs::write(&empty, "").unwrap();
    site.run(&["restore", "--force", empty.to_str().unwrap()])
        .assert_fails_with("not a complete cityhall backup");
    site.verify().assert_ok();
}

#[test]
fn verify_and_backup_do_not_invent_a_database_at_a_mistyped_data_dir() {
    let site = Site::new();
    site.run(&["audit", "verify"])
        .assert_fails_with("no database");
    let file = site.root().join("backup.tar");
    site.run(&["backup", file.to_str().unwrap()])
        .assert_fails_with("no database");
    assert!(!file.exists(), "no empty backup was written");
    assert!(!site.db_file().exists(), "no empty database was created");
    assert!(!site.data().join("keys").exists(), "no key was generated");
}

// ---------------------------------------------------------------------------------------------
// 6. Refusals
// ---------------------------------------------------------------------------------------------

#[test]
fn serve_refuses_a_data_folder_it_cannot_create() {
    let site = Site::new();
    let file = site.root().join("a-file");
    std::fs::write(&file, "").unwrap();
    // A folder below a regular file can never be created, not even by root.
    let impossible = file.join("data");
    let (run, _) = run_with_timeout(
        site.cmd_in(&impossible, &["serve", "--listen", "127.0.0.1:0"]),
        Duration::from_secs(30),
        site.root(),
    );
    run.assert_fails_with("data folder");
    assert!(run.output().contains(&impossible.display().to_string()));
}

#[test]
fn serve_refuses_a_read_only_data_folder() {
    use std::os::unix::fs::PermissionsExt;
    let site = Site::new();
    let ro = site.root().join("read-only");
    std::fs::create_dir(&ro).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    // Root ignores permissions; there the folder is writable and this story does not apply.
    let probe = ro.join("probe");
    if std::fs::write(&probe, "x").is_ok() {
        let _ = std::fs::remove_file(probe);
        eprintln!("running with permission to write anywhere: nothing to refuse");
        return;
    }
    let (run, _) = run_with_timeout(
        site.cmd_in(&ro, &["serve", "--listen", "127.0.0.1:0"]),
        Duration::from_secs(30),
        site.root(),
    );
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
    run.assert_fails_with("data folder")
        .assert_fails_with("not writable");
}

#[test]
fn serve_gives_up_on_an_unreachable_database_without_printing_its_password() {
    let site = Site::new();
    let (run, took) = run_with_timeout(
        site.cmd(&[
            "--database-url",
            "postgres://u:SECRETPW@127.0.0.1:1/x",
            "serve",
            "--listen",
            "127.0.0.1:0",
        ]),
        Duration::from_secs(30),
        site.root(),
    );
    assert!(took < Duration::from_secs(30));
    run.assert_fails_with("cannot open the database");
    assert!(
        !run.output().contains("SECRETPW"),
        "the password must never be printed: {run:#?}"
    );
}

#[test]
fn migrate_on_an_unreachable_database_does_not_print_its_password() {
    let site = Site::new();
    let (run, _) = run_with_timeout(
        site.cmd(&[
            "--database-url",
            "postgres://u:SECRETPW@127.0.0.1:1/x",
            "migrate",
        ]),
        Duration::from_secs(30),
        site.root(),
    );
    run.assert_fails_with("cannot open the database");
    assert!(!run.output().contains("SECRETPW"), "{run:#?}");
}

#[test]
fn a_database_from_a_newer_cityhall_is_refused() {
    let site = Site::new();
    site.run(&["migrate"]).assert_ok();
    tamper(
        &site.db_file(),
        &["INSERT INTO _sqlx_migrations \
           (version, description, installed_on, success, checksum, execution_time) \
           VALUES (99990101000000, 'from the future', CURRENT_TIMESTAMP, 1, x'00', 1)"],
    );
    site.run(&["migrate"]).assert_fails_with("newer");
    let (run, _) = run_with_timeout(
        site.cmd(&["serve", "--listen", "127.0.0.1:0"]),
        Duration::from_secs(30),
        site.root(),
    );
    run.assert_fails_with("newer");
    site.add_user("citizen.a", "citizen", None, PASSWORD)
        .assert_fails_with("newer");
}

// ---------------------------------------------------------------------------------------------
// 7. Serving
// ---------------------------------------------------------------------------------------------

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().unwrap().port()
}

/// A minimal HTTP/1.0 GET: the status code and the body.
fn http_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nAccept: text/html\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP response: {text:?}")))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// A running `cityhall serve`, killed if the test fails before it is stopped.
struct Server {
    guard: Guard,
    port: u16,
    log: PathBuf,
}

impl Server {
    fn start(site: &Site, args: &[&str], log_name: &str) -> Server {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let mut all = vec!["serve", "--listen", listen.as_str()];
        all.extend_from_slice(args);
        let log = site.root().join(log_name);
        let mut cmd = site.cmd(&all);
        cmd.stdin(Stdio::null())
            .stdout(std::fs::File::create(site.root().join("serve.out")).unwrap())
            .stderr(std::fs::File::create(&log).unwrap());
        let mut server = Server {
            guard: Guard(cmd.spawn().expect("cityhall serve starts")),
            port,
            log,
        };
        server.wait_ready(Duration::from_secs(60));
        server
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn wait_ready(&mut self, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.guard.0.try_wait().unwrap() {
                panic!("cityhall serve exited early ({status}):\n{}", self.log());
            }
            if let Ok((200, _)) = http_get(self.port, "/readyz") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "/readyz did not answer 200 within {limit:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sends SIGTERM, as a service manager would, and waits for a clean exit.
    fn stop(mut self) -> String {
        let pid = self.guard.0.id();
        let sent = Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status()
            .expect("run kill");
        assert!(sent.success());
        let status = wait_at_most(&mut self.guard.0, Duration::from_secs(15))
            .unwrap_or_else(|| panic!("no graceful exit within 15 s:\n{}", self.log()));
        assert!(
            status.success(),
            "SIGTERM is a normal shutdown, exit 0 (got {status}):\n{}",
            self.log()
        );
        self.log()
    }
}

#[test]
fn serve_demo_answers_in_vietnamese_and_shuts_down_gracefully() {
    let site = Site::new();
    let server = Server::start(&site, &["--demo"], "serve-1.log");

    let (status, body) = http_get(server.port, "/").expect("GET /");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<html lang=\"vi\">"), "{body}");
    assert!(body.contains("Cổng dịch vụ công"), "{body}");

    let log = server.stop();
    assert!(log.contains("demo accounts ready"), "{log}");
    assert!(!log.contains("\u{1b}["), "NO_COLOR is honoured: {log}");

    // The demo accounts exist and their creation is in the (sealed, intact) audit log.
    let run = site.verify();
    run.assert_ok();
    let sealed_after_first = sealed_count(&site.db_file());
    assert!(sealed_after_first > 0);
    site.add_user("citizen1", "citizen", None, PASSWORD)
        .assert_fails_with("taken");
    let sealed_with_probe = sealed_count(&site.db_file());
    assert_eq!(
        sealed_with_probe, sealed_after_first,
        "a refused account writes nothing"
    );

    // A second start on the same data folder keeps the demo accounts as they are.
    let server = Server::start(&site, &["--demo"], "serve-2.log");
    let (status, _) = http_get(server.port, "/").expect("GET / again");
    assert_eq!(status, 200);
    let log = server.stop();
    assert!(
        !log.contains("demo accounts ready"),
        "the demo set is loaded only once: {log}"
    );
    assert!(
        !log.contains("generated a new key"),
        "the keys of the first run are kept: {log}"
    );
    site.verify().assert_ok();
    assert_eq!(
        sealed_count(&site.db_file()),
        sealed_after_first,
        "no account was created or changed by the second start"
    );
    site.add_user("admin", "citizen", None, PASSWORD)
        .assert_fails_with("taken");
}

#[test]
fn serve_refuses_an_address_in_use() {
    let site = Site::new();
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let (run, _) = run_with_timeout(
        site.cmd(&["serve", "--listen", &addr]),
        Duration::from_secs(30),
        site.root(),
    );
    run.assert_fails_with(&format!("cannot listen on {addr}"));
    drop(busy);
}
