//! The store on both backends: a SQLite file and a throwaway PostgreSQL + PostGIS cluster. Every test of
//! the store's behaviour runs on each; the PostGIS tables, view and migrations have tests of their own.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use common::pg::{PgCluster, db_name};
use gridplan::store::{
    DatasetKind, Finish, JobKind, JobState, Latest, Location, NewPlan, Store, Write, WriteError,
};
use serde_json::json;

/// Runs `test` on a fresh SQLite file, then on a fresh PostgreSQL database.
fn on_both(test: impl Fn(&Location)) {
    let dir = tempfile::tempdir().unwrap();
    test(&dir.path().join("g.db").into());
    test(&Location::Postgres(PgCluster::shared().fresh()));
}

/// Two grids as the plan's public GeoJSON holds them, and a key no public layer may carry.
fn grids(first_id: &str) -> String {
    let square = |x: f64| json!({"type": "Polygon", "coordinates": [[[x, 32.0], [x + 0.01, 32.0], [x + 0.01, 32.01], [x, 32.01], [x, 32.0]]]});
    json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": first_id, "geometry": square(118.7),
         "properties": {"id": first_id, "community": "320116001001", "kind": "urban", "households": 310,
                        "population": 800, "buildings": 4, "status": "ok", "area_m2": 1234.5,
                        "compactness": 0.8, "elderly_alone": 17}},
        {"type": "Feature", "id": "G2", "geometry": {"type": "MultiPolygon", "coordinates": [square(118.72)["coordinates"].clone()]},
         "properties": {"id": "G2", "community": "320116001001", "kind": "urban", "households": 290,
                        "population": 700, "buildings": 3, "status": "under", "area_m2": 999.0,
                        "compactness": 0.7}}
    ]})
    .to_string()
}

fn plan(note: &str, first_id: &str) -> NewPlan {
    NewPlan {
        grid_count: 2,
        note: note.into(),
        grids: grids(first_id),
        communities: "{}".into(),
        report: "{}".into(),
    }
}

#[test]
fn versions_count_up_per_kind_and_survive_reopening() {
    on_both(|at| {
        {
            let mut s = Store::open(at).unwrap();
            let h1 = s
                .add_dataset(DatasetKind::Households, "h.geojson", b"{}")
                .unwrap();
            assert_eq!(
                (h1.version, h1.bytes, h1.kind),
                (1, 2, DatasetKind::Households)
            );
            let h2 = s
                .add_dataset(DatasetKind::Households, "h2.geojson", b"{ }")
                .unwrap();
            assert_eq!(h2.version, 2);
            let b = s
                .add_dataset(DatasetKind::Boundaries, "b.geojson", b"[]")
                .unwrap();
            assert_eq!(b.version, 1);
            let id = s
                .add_plan(h2.id, b.id, None, 7, "first", &grids("G1"), "{}", "{}")
                .unwrap();
            let a = s.add_assignment(id, h1.id, "{}", "{\"towns\":[]}").unwrap();
            assert_eq!(
                s.assignment(a).unwrap(),
                Some((id, "{}".to_string(), "{\"towns\":[]}".to_string()))
            );
        }
        let s = Store::open(at).unwrap();
        let (info, content) = s.latest_dataset(DatasetKind::Households).unwrap().unwrap();
        assert_eq!((info.version, content.as_slice()), (2, b"{ }".as_slice()));
        assert_eq!(info.filename, "h2.geojson");
        assert!(
            info.created.ends_with('Z') && info.created.len() == 20,
            "{}",
            info.created
        );
        let plans = s.plans().unwrap();
        assert_eq!(
            (plans.len(), plans[0].grids, plans[0].note.as_str()),
            (1, 7, "first")
        );
        assert_eq!(
            s.plan_inputs(plans[0].id).unwrap(),
            Some((info.id, plans[0].boundaries, None))
        );
        assert_eq!(s.plan_outputs(plans[0].id).unwrap().unwrap().0, grids("G1"));
        assert!(s.latest_assignment(plans[0].id).unwrap().is_some());
        assert_eq!(s.latest_assignment(plans[0].id + 1).unwrap(), None);
        assert_eq!(s.dataset_content(info.id).unwrap(), Some(b"{ }".to_vec()));
        assert_eq!(s.dataset_content(9999).unwrap(), None);
        let kinds: Vec<(DatasetKind, i64)> = s
            .datasets()
            .unwrap()
            .iter()
            .map(|d| (d.kind, d.version))
            .collect();
        assert_eq!(
            kinds,
            [
                (DatasetKind::Boundaries, 1),
                (DatasetKind::Households, 2),
                (DatasetKind::Households, 1)
            ]
        );
        assert_eq!(s.integrity_check().unwrap(), "ok");
    });
}

#[test]
fn a_write_is_all_or_nothing_and_refused_when_the_data_in_force_changed() {
    on_both(|at| {
        let mut s = Store::open(at).unwrap();
        assert_eq!(s.latest().unwrap(), Latest::default());
        // A plan needs households and boundaries in force.
        let r = s.write(Write {
            plan: Some(plan("no inputs", "G1")),
            ..Write::default()
        });
        assert!(matches!(r, Err(WriteError::Conflict)), "{r:?}");
        let w = s
            .write(Write {
                datasets: vec![
                    (DatasetKind::Households, "h".into(), b"H".to_vec()),
                    (DatasetKind::Boundaries, "b".into(), b"B".to_vec()),
                ],
                plan: Some(plan("first", "G1")),
                expected: Some(Latest::default()),
                job: None,
            })
            .unwrap();
        assert_eq!(w.datasets.len(), 2);
        let first = w.plan.unwrap();
        let latest = s.latest().unwrap();
        assert_eq!(
            (latest.households, latest.boundaries, latest.rules),
            (Some(w.datasets[0].id), Some(w.datasets[1].id), None)
        );
        // Validated against an older state: nothing of it is written.
        let r = s.write(Write {
            datasets: vec![(DatasetKind::Rules, "r".into(), b"R".to_vec())],
            plan: Some(plan("stale", "G1")),
            expected: Some(Latest::default()),
            job: None,
        });
        assert!(matches!(r, Err(WriteError::Conflict)), "{r:?}");
        assert_eq!(s.latest().unwrap(), latest);
        assert_eq!(s.plans().unwrap().len(), 1);
        // Workers do not count as a change of the data in force.
        let mut expected = latest;
        expected.workers = Some(12345);
        let w = s
            .write(Write {
                datasets: vec![(DatasetKind::Rules, "r".into(), b"R".to_vec())],
                plan: Some(plan("second", "G1")),
                expected: Some(expected),
                job: None,
            })
            .unwrap();
        let second = w.plan.unwrap();
        assert!(second > first);
        assert_eq!(
            s.plan_inputs(second).unwrap(),
            Some((
                latest.households.unwrap(),
                latest.boundaries.unwrap(),
                Some(w.datasets[0].id)
            ))
        );
    });
}

#[test]
fn writers_on_separate_connections_number_versions_without_gaps_or_repeats() {
    on_both(|at| {
        Store::open(at).unwrap();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let at = at.clone();
                std::thread::spawn(move || {
                    let mut s = Store::open(&at).unwrap();
                    for i in 0..10 {
                        s.add_dataset(DatasetKind::Workers, &format!("w{t}-{i}"), b"W")
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let s = Store::open(at).unwrap();
        let mut versions: Vec<i64> = s.datasets().unwrap().iter().map(|d| d.version).collect();
        versions.sort();
        assert_eq!(versions, (1..=40).collect::<Vec<i64>>());
    });
}

#[test]
fn postgis_holds_each_plans_grids_and_the_current_grids_view_has_public_fields_only() {
    let cluster = PgCluster::shared();
    let url = cluster.fresh();
    let db = db_name(&url);
    let at = Location::Postgres(url.clone());
    let mut s = Store::open(&at).unwrap();
    s.write(Write {
        datasets: vec![
            (DatasetKind::Households, "h".into(), b"H".to_vec()),
            (DatasetKind::Boundaries, "b".into(), b"B".to_vec()),
        ],
        plan: Some(plan("first", "G1")),
        expected: None,
        job: None,
    })
    .unwrap();
    let second = s
        .write(Write {
            plan: Some(plan("second", "N1")),
            ..Write::default()
        })
        .unwrap()
        .plan
        .unwrap();
    assert_eq!(cluster.psql(db, "SELECT count(*) FROM plan_grids"), "4");
    // The geometry column states its type and SRID.
    assert_eq!(
        cluster.psql(
            db,
            "SELECT type || ' ' || srid FROM geometry_columns WHERE f_table_name = 'current_grids'"
        ),
        "MULTIPOLYGON 4326"
    );
    // The view: the newest plan's grids only, in lon/lat, with their public figures.
    assert_eq!(
        cluster.psql(
            db,
            "SELECT plan || ' ' || grid_id || ' ' || households || ' ' || status || ' ' || ST_NumGeometries(geom) \
             || ' ' || round(ST_X(ST_Centroid(geom))::numeric, 3) FROM current_grids ORDER BY grid_id"
        ),
        format!("{second} G2 290 under 1 118.725\n{second} N1 310 ok 1 118.705")
    );
    let columns = cluster.psql(
        db,
        "SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns \
         WHERE table_name = 'current_grids'",
    );
    assert_eq!(
        columns,
        "plan,grid_id,community,kind,households,population,buildings,status,area_m2,compactness,town,primary_worker,cadre_responsible,staffing_policy,geom"
    );
    // GDAL (and so QGIS) opens the view as a layer.
    if let Ok(out) = std::process::Command::new("ogrinfo")
        .args(["-ro", "-so", &cluster.gdal(db), "current_grids"])
        .output()
    {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains("Feature Count: 2"), "{text}");
        assert!(text.contains("Multi Polygon"), "{text}");
        assert!(
            text.contains("EPSG\",4326") || text.contains("WGS 84"),
            "{text}"
        );
        assert!(!text.contains("elderly"), "{text}");
    }
}

#[test]
fn migrations_apply_once_and_reopening_is_idempotent() {
    let cluster = PgCluster::shared();
    let url = cluster.fresh();
    let db = db_name(&url);
    let at = Location::Postgres(url.clone());
    // Servers starting together: each migration is applied once.
    let threads: Vec<_> = (0..3)
        .map(|_| {
            let at = at.clone();
            std::thread::spawn(move || drop(Store::open(&at).unwrap()))
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let s = Store::open(&at).unwrap();
    assert_eq!(s.integrity_check().unwrap(), "ok");
    assert_eq!(
        cluster.psql(
            db,
            "SELECT string_agg(version::text, ',' ORDER BY version) FROM gridplan_migrations"
        ),
        "1,2,3"
    );
    // A database without PostGIS installed by its administrator gets it from the first migration.
    let other = cluster.database("other");
    cluster.psql("other", "DROP EXTENSION postgis");
    Store::open(&Location::Postgres(other)).unwrap();
    assert_eq!(
        cluster.psql(
            "other",
            "SELECT count(*) FROM pg_extension WHERE extname = 'postgis'"
        ),
        "1"
    );
}

#[test]
fn a_bad_or_unreachable_url_is_a_named_error() {
    assert!(Location::parse("postgres://u@h:notaport/db").is_err());
    assert_eq!(
        Location::parse("g.db").unwrap(),
        Location::Sqlite("g.db".into())
    );
    // Nothing listens on this port: the error names what was being done and where, not the password.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://gridplan:secret@127.0.0.1:{port}/gridplan");
    let err = match Store::open(&Location::Postgres(url.clone())) {
        Ok(_) => panic!("connected to a closed port"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("connect to postgres://gridplan:***@127.0.0.1"),
        "{err}"
    );
    assert!(!err.contains("secret"), "{err}");
    // The command line: exit status 2 and the message, no panic.
    for db in [url.as_str(), "postgres://u@h:notaport/db"] {
        let out = common::run(&["serve", "--db", db, "--addr", "127.0.0.1:0"]);
        let stderr = common::stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{db}: {stderr}");
        assert!(
            !stderr.contains("panicked") && !stderr.contains("secret"),
            "{stderr}"
        );
        assert!(stderr.contains("postgres"), "{stderr}");
    }
}

/// A job whose lease lapsed (its server died) is taken over once, at the next attempt; the first
/// server's late result is then refused, and the new owner's is written with its plan in one step.
#[test]
fn a_lapsed_job_is_taken_over_once_and_the_late_owner_cannot_write() {
    on_both(|at| {
        let mut s = Store::open(at).unwrap();
        s.write(Write {
            datasets: vec![
                (DatasetKind::Households, "h".into(), b"H".to_vec()),
                (DatasetKind::Boundaries, "b".into(), b"B".to_vec()),
            ],
            ..Write::default()
        })
        .unwrap();
        let a = s
            .submit_job(JobKind::Plan, "{\"note\":\"n\"}", b"", "server-a", 60.0)
            .unwrap();
        assert_eq!((a.owner.as_str(), a.attempt), ("server-a", 1));
        // Held under a live lease: nobody takes it.
        assert!(s.take_lapsed_job("server-b", 60.0).unwrap().is_none());
        // Server a stops renewing (a lease of no time left stands for a lapsed one).
        assert_eq!(s.renew_leases("server-a", -1.0).unwrap(), 1);
        let b = s.take_lapsed_job("server-b", 60.0).unwrap().unwrap();
        assert_eq!(
            (b.lease.job, b.lease.owner.as_str(), b.lease.attempt),
            (a.job, "server-b", 2)
        );
        assert_eq!(
            (b.kind, b.request.as_str()),
            (JobKind::Plan, "{\"note\":\"n\"}")
        );
        assert!(s.take_lapsed_job("server-c", 60.0).unwrap().is_none());
        // Server a comes back and finishes: refused, nothing written.
        let late = s.write(Write {
            plan: Some(plan("late", "G1")),
            job: Some(Finish {
                lease: a.clone(),
                result: "{}".into(),
            }),
            ..Write::default()
        });
        assert!(matches!(late, Err(WriteError::JobLost)), "{late:?}");
        assert!(!s.fail_job(&a, "{}").unwrap());
        assert!(s.plans().unwrap().is_empty());
        // Server b's result is written with the plan.
        let w = s
            .write(Write {
                plan: Some(plan("taken over", "G1")),
                job: Some(Finish {
                    lease: b.lease.clone(),
                    result: "{\"grids\":2}".into(),
                }),
                ..Write::default()
            })
            .unwrap();
        let job = s.job(a.job).unwrap().unwrap();
        assert_eq!(
            (job.state, job.plan, job.attempt, job.owner.as_str()),
            (JobState::Done, w.plan, 2, "server-b")
        );
        assert_eq!(job.result.as_deref(), Some("{\"grids\":2}"));
        assert_eq!(s.plans().unwrap().len(), 1);
        // Done: never taken again, even with its lease long gone.
        assert_eq!(s.renew_leases("server-b", -1.0).unwrap(), 0);
        assert!(s.take_lapsed_job("server-c", 60.0).unwrap().is_none());
        // A failure is recorded under the lease that holds the job.
        let f = s
            .submit_job(JobKind::Boundaries, "{}", b"BODY", "server-c", 60.0)
            .unwrap();
        assert!(s.fail_job(&f, "{\"status\":422}").unwrap());
        let job = s.job(f.job).unwrap().unwrap();
        assert_eq!(
            (job.state, job.kind),
            (JobState::Failed, JobKind::Boundaries)
        );
        assert_eq!(s.jobs(10).unwrap().len(), 2);
        let head = s.head().unwrap();
        assert_eq!((head.plan, head.assignment), (w.plan, None));
    });
}

/// Many servers looking for lapsed jobs at once: each job is taken by exactly one of them.
#[test]
fn servers_taking_lapsed_jobs_together_never_take_the_same_one() {
    on_both(|at| {
        let mut s = Store::open(at).unwrap();
        let ids: Vec<i64> = (0..12)
            .map(|i| {
                s.submit_job(JobKind::Plan, "{}", b"", &format!("dead-{i}"), -1.0)
                    .unwrap()
                    .job
            })
            .collect();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let at = at.clone();
                std::thread::spawn(move || {
                    let mut s = Store::open(&at).unwrap();
                    let mut taken = Vec::new();
                    while let Some(job) = s.take_lapsed_job(&format!("live-{t}"), 60.0).unwrap() {
                        taken.push(job.lease.job);
                    }
                    taken
                })
            })
            .collect();
        let mut taken: Vec<i64> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        taken.sort();
        assert_eq!(taken, ids);
        assert!(s.jobs(20).unwrap().iter().all(|j| j.attempt == 2));
    });
}
