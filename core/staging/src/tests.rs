//! Staging, publishing and manifests on a real file system.

use super::beside::{artifact, stem_of};
use super::*;

#[test]
fn artifacts_are_recognised() {
    assert_eq!(
        artifact(".a.json.dump2py-12.tmp"),
        Some((".a.json.dump2py", "tmp"))
    );
    assert_eq!(artifact(".a.dump2py.lock"), Some((".a.dump2py", "lock")));
    assert_eq!(artifact(".a.dump2py-x.tmp"), None);
    assert_eq!(artifact("a.dump2py-1.tmp"), None);
    assert_eq!(artifact(".notes-1.tmp"), None);
}

#[test]
fn long_names_are_shortened() {
    let long = "x".repeat(250);
    let stem = stem_of(OsStr::new(&long));
    assert!(stem.len() + "-4294967295.spool".len() <= 255, "{stem}");
    assert_ne!(stem, stem_of(OsStr::new(&"x".repeat(251))));
    assert_eq!(stem_of(OsStr::new("dump")), ".dump.dump2py");
}

#[test]
fn a_dump_is_published_with_its_manifest_and_replaced_only_when_ours() {
    let t = std::env::temp_dir().join(format!("dump2py-staging-{}", std::process::id()));
    let _ = fs::remove_dir_all(&t);
    fs::create_dir_all(&t).expect("tmp");
    let target = t.join("dump");
    let mut s = Staged::new(&target, false, true).expect("stage");
    fs::write(s.path().join("restore.py"), "x").expect("write");
    s.publish_now().expect("publish");
    drop(s);
    let m = read_manifest(&target.join(MANIFEST)).expect("manifest");
    assert_eq!(m.format, FORMAT_DIR);
    assert_eq!(m.files.len(), 1);
    assert_eq!(m.files[0].size, 1);
    assert!(check_target(&target, true).is_ok());
    fs::write(target.join("notes.txt"), "mine").expect("write");
    let err = check_target(&target, true).err().map(|e| e.to_string());
    assert!(err.is_some_and(|e| e.contains("not written by dump2py")));
    let beside: Vec<_> = fs::read_dir(&t)
        .expect("ls")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(beside, [OsStr::new("dump")]);
    let _ = fs::remove_dir_all(&t);
}
