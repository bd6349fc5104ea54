//! `#migrated`, proven against the frameworks' own answers: a Django project (the contrib apps, two
//! apps of its own, one with a custom label, a squashed migration) stepped through its migrations
//! forwards and backwards, and at every step `readygate --check …#migrated=` says what `manage.py
//! migrate --check` says — for the current Django from PyPI and Debian's python3-django, on
//! PostgreSQL and on MariaDB. Alembic likewise against `alembic current` and `alembic heads`, with a
//! linear history, a branch and a merge.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::brokers::{self, Mariadb};
use crate::harness::{assert_no_canary, gate, ms, require, run};
use crate::servers::{self, password, Pg};

/// The virtual environment `./test.sh` fills from PyPI (Django, SQLAlchemy, Alembic, drivers).
fn pypi_python() -> Option<PathBuf> {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/migrate-venv/bin/python");
    imports(&python, "django, alembic, psycopg2, pymysql").then_some(python)
}

/// Debian's python3-django with its drivers.
fn debian_python() -> Option<PathBuf> {
    let python = PathBuf::from("/usr/bin/python3");
    imports(&python, "django, psycopg2, MySQLdb").then_some(python)
}

fn imports(python: &Path, modules: &str) -> bool {
    Command::new(python)
        .args(["-c", &format!("import {modules}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Both Djangos, or a recorded skip.
fn djangos() -> Option<Vec<(&'static str, PathBuf)>> {
    let pypi = pypi_python();
    let debian = debian_python();
    let ok = require(
        pypi.is_some(),
        "Django, Alembic, psycopg2-binary and PyMySQL from PyPI in target/migrate-venv (./test.sh installs them)",
    ) & require(
        debian.is_some(),
        "Debian's python3-django, python3-psycopg2 and python3-mysqldb",
    );
    if !ok {
        return None;
    }
    Some(vec![("PyPI", pypi?), ("Debian", debian?)])
}

const MIGRATION_HEAD: &str = "from django.db import migrations\n\n";

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A migration running `forward` (and `backward` when unapplied), with what it depends on and,
/// for a squash, what it replaces. Written in the forms `makemigrations` and people use.
fn migration(
    deps: &[(&str, &str)],
    replaces: &[(&str, &str)],
    forward: &str,
    backward: &str,
) -> String {
    let pairs = |p: &[(&str, &str)]| {
        p.iter()
            .map(|(a, n)| format!("\n        ('{a}', \"{n}\"),"))
            .collect::<String>()
    };
    let mut text = String::from(MIGRATION_HEAD);
    // Words of a migration in a docstring and a comment: not the migration's own.
    text.push_str("\"\"\"Not this: replaces = [('x', 'y')]\"\"\"\n\n\n# replaces = [('x', 'z')]\n");
    text.push_str("class Migration(migrations.Migration):\n");
    if !replaces.is_empty() {
        text.push_str(&format!("\n    replaces = [{}\n    ]\n", pairs(replaces)));
    }
    text.push_str(&format!("\n    dependencies = [{}\n    ]\n", pairs(deps)));
    text.push_str(&format!(
        "\n    operations = [\n        migrations.RunSQL(\n            {forward:?},\n            reverse_sql={backward:?},\n        ),\n    ]\n"
    ));
    text
}

/// The project: contrib apps (auth, contenttypes, admin, sessions), `blog` (three migrations and a
/// squash of the first two) and `shop`, labelled `store` in its apps.py, which depends on blog.
fn django_project(root: &Path) {
    write(
        &root.join("manage.py"),
        "import os, sys\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'settings')\nfrom django.core.management import execute_from_command_line\nexecute_from_command_line(sys.argv)\n",
    );
    write(
        &root.join("settings.py"),
        r#"import os
SECRET_KEY = "not-secret"
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.auth", "django.contrib.contenttypes", "django.contrib.admin",
    "django.contrib.sessions", "django.contrib.messages", "blog", "shop",
]
if os.environ["DB"] == "mysql":
    try:
        import MySQLdb  # noqa: F401
    except ImportError:
        import pymysql
        pymysql.install_as_MySQLdb()
    ENGINE = "django.db.backends.mysql"
else:
    ENGINE = "django.db.backends.postgresql"
DATABASES = {"default": {
    "ENGINE": ENGINE, "NAME": "appdb", "USER": "app", "PASSWORD": os.environ["DB_PASSWORD"],
    "HOST": "127.0.0.1", "PORT": os.environ["DB_PORT"],
}}
"#,
    );
    for app in ["blog", "shop"] {
        write(&root.join(app).join("__init__.py"), "");
        write(&root.join(app).join("models.py"), "");
        write(&root.join(app).join("migrations/__init__.py"), "");
    }
    write(
        &root.join("blog/apps.py"),
        "from django.apps import AppConfig\n\n\nclass BlogConfig(AppConfig):\n    name = 'blog'\n",
    );
    write(
        &root.join("shop/apps.py"),
        "from django.apps import AppConfig\n\n\nclass ShopConfig(AppConfig):\n    default_auto_field = 'django.db.models.BigAutoField'\n    name = \"shop\"\n    label = \"store\"\n",
    );
    // (file, dependencies, replaces, forward SQL, backward SQL)
    type Step<'a> = (
        &'a str,
        &'a [(&'a str, &'a str)],
        &'a [(&'a str, &'a str)],
        &'a str,
        &'a str,
    );
    let files: [Step; 6] = [
        (
            "blog/migrations/0001_initial.py",
            &[],
            &[],
            "CREATE TABLE blog_post (id integer)",
            "DROP TABLE blog_post",
        ),
        (
            "blog/migrations/0002_post_title.py",
            &[("blog", "0001_initial")],
            &[],
            "ALTER TABLE blog_post ADD COLUMN title varchar(20)",
            "ALTER TABLE blog_post DROP COLUMN title",
        ),
        (
            "blog/migrations/0001_squashed_0002_post_title.py",
            &[],
            &[("blog", "0001_initial"), ("blog", "0002_post_title")],
            "CREATE TABLE blog_post (id integer, title varchar(20))",
            "DROP TABLE blog_post",
        ),
        (
            "blog/migrations/0003_post_body.py",
            &[("blog", "0002_post_title")],
            &[],
            "ALTER TABLE blog_post ADD COLUMN body text",
            "ALTER TABLE blog_post DROP COLUMN body",
        ),
        (
            "shop/migrations/0001_initial.py",
            &[("blog", "0002_post_title")],
            &[],
            "CREATE TABLE store_item (id integer)",
            "DROP TABLE store_item",
        ),
        (
            "shop/migrations/0002_item_price.py",
            &[("store", "0001_initial")],
            &[],
            "ALTER TABLE store_item ADD COLUMN price integer",
            "ALTER TABLE store_item DROP COLUMN price",
        ),
    ];
    for (file, deps, replaces, forward, backward) in files {
        write(
            &root.join(file),
            &migration(deps, replaces, forward, backward),
        );
    }
}

/// The directory of a Python's Django package.
fn django_dir(python: &Path) -> PathBuf {
    let out = Command::new(python)
        .args([
            "-c",
            "import django, os; print(os.path.dirname(django.__file__))",
        ])
        .output()
        .unwrap();
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// The steps: (the squash on disk, `manage.py` arguments). Forwards app by app and through the
/// squash, all of it, backwards, a labelled app to zero; then, with the squash off disk (the code
/// before it was written: Django 3.2 cannot migrate to a replaced migration), back into what it
/// replaces, so that with the squash back on disk it is partly applied; forward again.
const DJANGO_STEPS: &[(bool, &[&str])] = &[
    (true, &[]),
    (true, &["migrate", "contenttypes"]),
    (true, &["migrate", "auth"]),
    (true, &["migrate", "blog", "0001_squashed_0002_post_title"]),
    (true, &["migrate", "blog"]),
    (true, &["migrate"]),
    (true, &["migrate", "blog", "0001_squashed_0002_post_title"]),
    (true, &["migrate", "store", "zero"]),
    (false, &["migrate", "blog", "0001_initial"]),
    (true, &[]),
    (true, &["migrate", "blog", "0003_post_body"]),
    (true, &["migrate", "store", "0001_initial"]),
    (true, &["migrate"]),
    (true, &["migrate", "admin", "zero"]),
    (true, &["migrate"]),
];

/// Steps a Django project through `DJANGO_STEPS`; at each, readygate's `--check` must agree with
/// `manage.py migrate --check`. `db` is `postgres` or `mysql`; `url` the target without options.
fn django_differential(python: &Path, db: &str, port: u16, url: &str, reset: &dyn Fn()) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("project");
    django_project(&root);
    let contrib = django_dir(python).join("contrib");
    let paths: Vec<String> = std::iter::once(root.clone())
        .chain(["auth", "contenttypes", "admin", "sessions"].map(|a| contrib.join(a)))
        .map(|p| p.display().to_string())
        .collect();
    let target = format!("{url}#migrated={}", paths.join(":"));
    let manage = |args: &[&str]| {
        let out = Command::new(python)
            .arg(root.join("manage.py"))
            .args(args)
            .current_dir(&root)
            .env("DB", db)
            .env("DB_PORT", port.to_string())
            .env("DB_PASSWORD", password())
            .output()
            .unwrap();
        let text = if args.contains(&"--plan") {
            &out.stdout
        } else {
            &out.stderr
        };
        (
            out.status.code(),
            String::from_utf8_lossy(text).into_owned(),
        )
    };
    reset();
    let squash = root.join("blog/migrations/0001_squashed_0002_post_title.py");
    let squash_text = std::fs::read_to_string(&squash).unwrap();
    for (squash_on_disk, step) in DJANGO_STEPS {
        if *squash_on_disk {
            std::fs::write(&squash, &squash_text).unwrap();
        } else {
            let _ = std::fs::remove_file(&squash);
        }
        if !step.is_empty() {
            let mut args = step.to_vec();
            args.push("--skip-checks");
            let (code, err) = manage(&args);
            assert_eq!(code, Some(0), "manage.py {step:?}: {err}");
        }
        let (django, err) = manage(&["migrate", "--check", "--skip-checks"]);
        assert!(matches!(django, Some(0 | 1)), "migrate --check: {err}");
        let r = run(gate().args(["--check", "-v", &target]), ms(20_000));
        assert_no_canary(&r.stderr);
        assert_eq!(
            r.code(),
            django.unwrap(),
            "after manage.py {step:?} (squash on disk: {squash_on_disk}; {db}, {}): Django says {django:?}, readygate says:\n{}",
            python.display(),
            r.stderr
        );
        // The migrations readygate names as missing are those `migrate --plan` would apply.
        let (_, plan) = manage(&["migrate", "--plan", "--skip-checks"]);
        let planned = plan_names(&plan);
        match missing_names(&r.stderr) {
            Some((count, listed)) => {
                assert_eq!(
                    count,
                    planned.len(),
                    "{step:?}: plan {planned:?}\n{}",
                    r.stderr
                );
                if count <= 10 {
                    assert_eq!(listed, planned, "{step:?}: {}", r.stderr);
                }
            }
            None if r.stderr.contains("no django_migrations table") => {
                assert!(!planned.is_empty());
            }
            None => assert!(
                planned.is_empty(),
                "{step:?}: plan {planned:?}\n{}",
                r.stderr
            ),
        }
    }
}

/// The migrations `manage.py migrate --plan` lists (one `app.name` line each, unindented).
fn plan_names(plan: &str) -> std::collections::BTreeSet<String> {
    plan.lines()
        .skip_while(|l| !l.starts_with("Planned operations"))
        .skip(1)
        .filter(|l| !l.starts_with(' ') && l.contains('.'))
        .map(str::to_string)
        .collect()
}

/// From readygate's "N of M migration(s) not applied: a.b, c.d and K more": N and the names.
fn missing_names(stderr: &str) -> Option<(usize, std::collections::BTreeSet<String>)> {
    let at = stderr.find(" migration(s) not applied: ")?;
    let count = stderr[..at]
        .rsplit(" of ")
        .nth(1)?
        .rsplit(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()?;
    let rest = &stderr[at + " migration(s) not applied: ".len()..];
    let list = rest.lines().next()?.split(" and ").next()?;
    Some((
        count,
        list.split(", ").map(|s| s.trim().to_string()).collect(),
    ))
}

#[test]
fn django_verdict_equals_migrate_check_on_postgresql() {
    if !servers::postgres_available() {
        return;
    }
    let Some(djangos) = djangos() else { return };
    let pg = Pg::new("");
    pg.start();
    let url = pg.url(&Pg::app(), "appdb");
    for (_, python) in &djangos {
        let reset = || {
            pg.psql("DROP DATABASE IF EXISTS appdb");
            pg.psql("CREATE DATABASE appdb OWNER app");
        };
        django_differential(python, "postgres", pg.port, &url, &reset);
    }
}

#[test]
fn django_verdict_equals_migrate_check_on_mariadb() {
    if !brokers::mariadb_available() {
        return;
    }
    let Some(djangos) = djangos() else { return };
    let mut db = Mariadb::new();
    db.start(&[], true);
    let url = format!(
        "mysql://app:{}@127.0.0.1:{}/appdb",
        servers::password_in_url(),
        db.port
    );
    for (_, python) in &djangos {
        let reset = || {
            db.sql("DROP DATABASE IF EXISTS appdb; CREATE DATABASE appdb;");
        };
        django_differential(python, "mysql", db.port, &url, &reset);
    }
}

/// An Alembic project: a ← b ← c, b ← d (a branch), m merges c and d. Revision files in the forms
/// Alembic's templates have written over the years.
fn alembic_project(root: &Path, with_merge: bool) {
    write(
        &root.join("alembic.ini"),
        "[alembic]\nscript_location = %(here)s/migrations\n\n[loggers]\nkeys = root\n\n[handlers]\nkeys =\n\n[formatters]\nkeys =\n\n[logger_root]\nlevel = WARN\nhandlers =\n",
    );
    write(
        &root.join("migrations/env.py"),
        "import os\nfrom alembic import context\nfrom sqlalchemy import create_engine\n\nengine = create_engine(os.environ['DATABASE_URL'])\nwith engine.connect() as connection:\n    context.configure(connection=connection, target_metadata=None)\n    with context.begin_transaction():\n        context.run_migrations()\n",
    );
    let v = root.join("migrations/versions");
    let body = "\n\ndef upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n";
    write(
        &v.join("a1_create.py"),
        &format!("\"\"\"create\n\nRevision ID: a1\nRevises:\n\"\"\"\nrevision = 'a1'\ndown_revision = None\nbranch_labels = None\ndepends_on = None\n{body}"),
    );
    write(
        &v.join("b2_more.py"),
        &format!("from typing import Sequence, Union\n\nrevision: str = \"b2\"\ndown_revision: Union[str, None] = \"a1\"\nbranch_labels: Union[str, Sequence[str], None] = None\n{body}"),
    );
    write(
        &v.join("c3_left.py"),
        &format!("revision = \"c3\"\ndown_revision = \"b2\"\n{body}"),
    );
    write(
        &v.join("d4_right.py"),
        &format!("revision = \"d4\"\ndown_revision = (\n    \"b2\"\n)\n{body}"),
    );
    if with_merge {
        write(
            &v.join("m5_merge.py"),
            &format!("\"\"\"merge\"\"\"\nrevision = 'm5'\ndown_revision = ('c3', 'd4')\n{body}"),
        );
    }
}

#[test]
fn alembic_verdict_equals_current_against_heads() {
    if !servers::postgres_available() {
        return;
    }
    let Some(python) = pypi_python() else {
        require(
            false,
            "Alembic from PyPI in target/migrate-venv (./test.sh installs it)",
        );
        return;
    };
    let pg = Pg::new("");
    pg.start();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("project");
    let db_url = format!(
        "postgresql+psycopg2://app:{}@127.0.0.1:{}/appdb",
        servers::password_in_url(),
        pg.port
    );
    let alembic = |args: &[&str]| {
        let out = Command::new(&python)
            .args(["-m", "alembic"])
            .args(args)
            .current_dir(&root)
            .env("DATABASE_URL", &db_url)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "alembic {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // The revision ids of the lines it prints ("m5 (head) (mergepoint)").
        let mut ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_whitespace().next().map(str::to_string))
            .collect();
        ids.sort();
        ids
    };
    // (with the merge on disk, step); a step is alembic's arguments.
    let steps: &[(bool, &[&str])] = &[
        (true, &[]),
        (true, &["upgrade", "a1"]),
        (true, &["upgrade", "b2"]),
        (true, &["upgrade", "c3"]),
        (true, &["upgrade", "d4"]),
        (true, &["upgrade", "heads"]),
        (true, &["downgrade", "d4"]),
        (true, &["upgrade", "heads"]),
        (true, &["downgrade", "b2"]),
        // The code before the merge existed: two heads, both must be there.
        (false, &["upgrade", "c3"]),
        (false, &["upgrade", "d4"]),
        (false, &["downgrade", "base"]),
        (false, &["upgrade", "heads"]),
    ];
    for (with_merge, step) in steps {
        let _ = std::fs::remove_dir_all(&root);
        alembic_project(&root, *with_merge);
        if !step.is_empty() {
            alembic(step);
        }
        let current = alembic(&["current"]);
        let heads = alembic(&["heads"]);
        let expected = i32::from(current != heads);
        for spec in [root.clone(), root.join("migrations/versions")] {
            let target = format!(
                "{}#migrated=alembic:{}",
                pg.url(&Pg::app(), "appdb"),
                spec.display()
            );
            let r = run(gate().args(["--check", "-v", &target]), ms(20_000));
            assert_no_canary(&r.stderr);
            assert_eq!(
                r.code(),
                expected,
                "after alembic {step:?} (merge on disk: {with_merge}): current {current:?}, heads {heads:?}; readygate:\n{}",
                r.stderr
            );
        }
    }
}

/// Files the reader cannot take, and options that cannot work together: a usage error at start
/// (exit 2, at once) naming the file and line, never a silent skip and never a wait.
#[test]
fn what_cannot_be_read_is_a_usage_error_naming_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let app = |name: &str, files: &[(&str, &str)]| {
        let migrations = root.join(name).join("migrations");
        write(&migrations.join("__init__.py"), "");
        for (file, text) in files {
            write(&migrations.join(file), text);
        }
        root.join(name).display().to_string()
    };
    let ok =
        "from django.db import migrations\n\nclass Migration(migrations.Migration):\n    pass\n";
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            app(
                "a",
                &[(
                    "0001_x.py",
                    "class Migration:\n    replaces = [('a', name)]\n",
                )],
            ),
            vec!["0001_x.py line 2", "replaces"],
        ),
        (
            app("b", &[("0001_x.py", "from django.db import migrations\n")]),
            vec!["0001_x.py", "no `class Migration`"],
        ),
        (
            app(
                "c",
                &[("0001_x.py", "class Migration:\n\n    x = 'never closed\n")],
            ),
            vec!["0001_x.py line 3", "never closed"],
        ),
        (
            app(
                "d",
                &[("0001_x.py", "class Migration:\n    replaces = (\n")],
            ),
            vec!["0001_x.py line 2", "never closed"],
        ),
        (
            {
                let path = app("e", &[("0001_x.py", ok)]);
                write(
                    &root.join("e/apps.py"),
                    "class EConfig(AppConfig):\n    name = 'e'\n    label = LABEL\n",
                );
                path
            },
            vec!["apps.py line 3", "label"],
        ),
        (
            root.join("nothing-here").display().to_string(),
            vec!["nothing-here"],
        ),
        (
            {
                let empty = root.join("empty");
                std::fs::create_dir_all(&empty).unwrap();
                empty.display().to_string()
            },
            vec!["no Django migrations there"],
        ),
    ];
    let versions = root.join("versions");
    write(
        &versions.join("a1.py"),
        "revision = 'a1'\ndown_revision = 'zz'\n",
    );
    let alembic_unknown = format!("alembic:{}", versions.display());
    let versions2 = root.join("versions2");
    write(&versions2.join("a1.py"), "down_revision = None\n");
    let alembic_no_id = format!("alembic:{}", versions2.display());
    let mut cases = cases;
    cases.push((alembic_unknown, vec!["down_revision zz", "a1.py"]));
    cases.push((alembic_no_id, vec!["a1.py", "no `revision"]));
    for (spec, says) in &cases {
        for scheme in ["postgres", "mysql"] {
            let target = format!(
                "{scheme}://app:{}@127.0.0.1:9/appdb#migrated={spec}",
                servers::password_in_url()
            );
            let r = run(gate().args([target.as_str(), "--", "true"]), ms(5000));
            assert_eq!(r.code(), 2, "{spec}: {}", r.stderr);
            for word in says {
                assert!(
                    r.stderr.contains(word),
                    "{spec}: no {word:?} in {}",
                    r.stderr
                );
            }
            assert!(r.elapsed < ms(2000), "{:?}", r.elapsed);
            assert_no_canary(&r.stderr);
        }
    }
    // Options that contradict #migrated.
    let good = app("g", &[("0001_x.py", ok)]);
    for (target, says) in [
        (
            format!("postgres://app@db/x#migrated={good}&level=ping"),
            "#level=ping",
        ),
        (
            format!("postgres://app@db/x#migrated={good}&query=SELECT%201"),
            "give one of them",
        ),
        (format!("postgres://db/x#migrated={good}"), "needs a user"),
        (
            format!("mysql://app@db/x#migrated={good}&level=ping"),
            "#level=ping",
        ),
        (format!("mysql://db/x#migrated={good}"), "needs a user"),
    ] {
        let r = run(gate().args([target.as_str(), "--", "true"]), ms(5000));
        assert_eq!(r.code(), 2, "{target}: {}", r.stderr);
        assert!(r.stderr.contains(says), "{target}: {}", r.stderr);
    }
    // And what --explain says the code ships: each app, its count and its last migration.
    let r = run(
        gate().args(["--explain", &format!("postgres://app@db/x#migrated={good}")]),
        ms(5000),
    );
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(
            "django_migrations must record 1 Django migration(s) in 1 app(s): g (1, last 0001_x)"
        ),
        "{}",
        r.stdout
    );
}

/// A version table no migration history looks like — endless rows, huge values — is read within
/// bounds (rows, bytes) and ends the wait as a permanent failure naming the table.
#[test]
fn a_version_table_without_end_is_read_within_bounds() {
    if !servers::postgres_available() {
        return;
    }
    let pg = Pg::new("");
    pg.start();
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("blog/migrations");
    write(&app.join("__init__.py"), "");
    write(
        &app.join("0001_initial.py"),
        "from django.db import migrations\n\nclass Migration(migrations.Migration):\n    pass\n",
    );
    let target = format!(
        "{}#migrated={}",
        pg.url(&Pg::app(), "appdb"),
        dir.path().display()
    );
    for (view, says) in [
        (
            "SELECT 'blog'::text AS app, g::text AS name FROM generate_series(1, 300000) g",
            "more than 100000 rows",
        ),
        (
            "SELECT 'blog'::text AS app, repeat('x', 1000000) AS name FROM generate_series(1, 100) g",
            "more than 16 MiB",
        ),
    ] {
        pg.psql_in("appdb", "DROP VIEW IF EXISTS django_migrations");
        pg.psql_in(
            "appdb",
            &format!("CREATE VIEW django_migrations AS {view}; GRANT SELECT ON django_migrations TO app"),
        );
        let r = run(gate().args(["-t", "20s", &target, "--", "true"]), ms(20_000));
        assert_eq!(r.code(), 1, "{}", r.stderr);
        assert!(r.stderr.contains(says) && r.stderr.contains("django_migrations"), "{}", r.stderr);
        assert!(r.elapsed < ms(10_000), "{:?}", r.elapsed);
    }
}
