//! The URL table every server's parser is tested with: [`DbUrl`] itself
//! here, and each source's parser in its crate (through the `testing`
//! feature), so that all read the same syntax the same way.

use crate::database::Database;
use crate::url::{DbUrl, Server};

/// The password of every case that has one; no error may show it.
pub const SECRET: &str = "hunter2";

/// What a parser made of a URL, for comparison.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Seen {
    pub user: Option<String>,
    pub password: Option<String>,
    pub server: Option<Place>,
    pub port: Option<u16>,
    /// The path: the database's name.
    pub path: String,
    /// Only for [`DbUrl`]: a source keeps the meaning, not the text.
    pub params: Vec<(String, String)>,
    /// The URL as the parser shows it, when it does.
    pub shown: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    Host(String),
    Socket(String),
}

impl Seen {
    pub fn of(u: &DbUrl) -> Seen {
        Seen {
            user: u.user.clone(),
            password: u.password.clone(),
            server: u.server().map(Place::from),
            port: u.port,
            path: u.path.clone(),
            params: u.params.clone(),
            shown: Some(u.to_string()),
        }
    }
}

impl From<Server<'_>> for Place {
    fn from(s: Server<'_>) -> Place {
        match s {
            Server::Host(h) => Place::Host(h.into()),
            Server::Socket(p) => Place::Socket(p.into()),
        }
    }
}

/// What a case's URL parses to; a server compares only what is given
/// (its defaults fill the rest).
pub struct Parts {
    pub user: Option<&'static str>,
    pub password: Option<&'static str>,
    pub server: Option<Server<'static>>,
    pub port: Option<u16>,
    pub path: &'static str,
    pub params: &'static [(&'static str, &'static str)],
}

pub enum Expect {
    /// Parsed, by [`DbUrl`] and by every server.
    Parsed(Parts),
    /// Refused by [`DbUrl`], so by every server; the message contains this.
    Bad(&'static str),
    /// Parsed by [`DbUrl`], refused by every server with this in the message.
    Refused(Parts, &'static str),
}

pub struct Case {
    /// `SCHEME` stands for the server's scheme.
    pub url: &'static str,
    pub expect: Expect,
}

const fn parts(
    user: Option<&'static str>,
    server: Option<Server<'static>>,
    port: Option<u16>,
    path: &'static str,
) -> Parts {
    Parts {
        user,
        password: None,
        server,
        port,
        path,
        params: &[],
    }
}

const H: Option<Server<'static>> = Some(Server::Host("db.example"));
const U: Option<&str> = Some("u");

pub const CASES: &[Case] = &[
    Case {
        url: "SCHEME://u:hunter2@db.example:5433/lino",
        expect: Expect::Parsed(Parts {
            password: Some(SECRET),
            ..parts(U, H, Some(5433), "lino")
        }),
    },
    // IPv6.
    Case {
        url: "SCHEME://u@[::1]:5433/lino",
        expect: Expect::Parsed(parts(U, Some(Server::Host("::1")), Some(5433), "lino")),
    },
    Case {
        url: "SCHEME://u@[2001:db8::7]/lino",
        expect: Expect::Parsed(parts(U, Some(Server::Host("2001:db8::7")), None, "lino")),
    },
    Case {
        url: "SCHEME://u@/lino?host=::1",
        expect: Expect::Parsed(Parts {
            params: &[("host", "::1")],
            ..parts(U, Some(Server::Host("::1")), None, "lino")
        }),
    },
    Case {
        url: "SCHEME://u:hunter2@[::1/lino",
        expect: Expect::Bad("an IPv6 host lacks its closing ]"),
    },
    Case {
        url: "SCHEME://u:hunter2@[::1]5433/lino",
        expect: Expect::Bad("unexpected text after the IPv6 host"),
    },
    // Sockets: a percent-encoded path for the host, or a host parameter.
    Case {
        url: "SCHEME://u@%2Frun%2Fdb/lino",
        expect: Expect::Parsed(parts(U, Some(Server::Socket("/run/db")), None, "lino")),
    },
    Case {
        url: "SCHEME://u@/lino?host=%2Frun%2Fdb",
        expect: Expect::Parsed(Parts {
            params: &[("host", "/run/db")],
            ..parts(U, Some(Server::Socket("/run/db")), None, "lino")
        }),
    },
    Case {
        url: "SCHEME://u@db.example/lino?host=/run/db",
        expect: Expect::Parsed(Parts {
            params: &[("host", "/run/db")],
            ..parts(U, Some(Server::Socket("/run/db")), None, "lino")
        }),
    },
    // Percent-encoding.
    Case {
        url: "SCHEME://u%40x:%3Ahunter2%40%2F@db.example/my%20db",
        expect: Expect::Parsed(Parts {
            password: Some(":hunter2@/"),
            ..parts(Some("u@x"), H, None, "my db")
        }),
    },
    Case {
        url: "SCHEME://u:hunter2%zz@db.example/lino",
        expect: Expect::Bad("the password: bad %-escape"),
    },
    Case {
        url: "SCHEME://u:hunter2@db.example/%ff",
        expect: Expect::Bad("not UTF-8"),
    },
    Case {
        url: "SCHEME://u:hunter2@db.example/lino?application_name=%zz",
        expect: Expect::Bad("application_name: bad %-escape"),
    },
    // Ports.
    Case {
        url: "SCHEME://u:hunter2@db.example:99999/lino",
        expect: Expect::Bad("the port \"99999\" is not a number from 1 to 65535"),
    },
    Case {
        url: "SCHEME://u:hunter2@db.example:0/lino",
        expect: Expect::Bad("the port \"0\" is not"),
    },
    Case {
        url: "SCHEME://u@db.example:/lino",
        expect: Expect::Parsed(parts(U, H, None, "lino")),
    },
    // An unencoded / or ? in the password: never quoted back.
    Case {
        url: "SCHEME://u:hunter2/x@db.example/lino",
        expect: Expect::Bad("an @ after the host: write / and ? in a password as %2F and %3F"),
    },
    Case {
        url: "SCHEME://u:5432/hunter2@db.example/lino",
        expect: Expect::Bad("an @ after the host"),
    },
    Case {
        url: "SCHEME://u:5432?hunter2@db.example/lino",
        expect: Expect::Bad("an @ after the host"),
    },
    Case {
        url: "SCHEME://u:hunter2?x=y@db.example/lino",
        expect: Expect::Bad("the port is not a number from 1 to 65535"),
    },
    Case {
        url: "SCHEME://u:65536?hunter2=y@db.example/lino",
        expect: Expect::Bad("the port is not a number from 1 to 65535"),
    },
    // An @ in a parameter is no password's.
    Case {
        url: "SCHEME://db.example:5433/lino?user=me@corp",
        expect: Expect::Parsed(Parts {
            params: &[("user", "me@corp")],
            ..parts(None, H, Some(5433), "lino")
        }),
    },
    Case {
        url: "SCHEME://u:hunter2@a,b/lino",
        expect: Expect::Bad("several hosts are not supported"),
    },
    Case {
        url: "SCHEME:db.example/lino",
        expect: Expect::Bad("//"),
    },
    // Parameters: repeats and unknowns are kept, for the server to refuse.
    Case {
        url: "SCHEME://u:hunter2@db.example/lino?connect_timeout=3&connect_timeout=4",
        expect: Expect::Refused(
            Parts {
                password: Some(SECRET),
                params: &[("connect_timeout", "3"), ("connect_timeout", "4")],
                ..parts(U, H, None, "lino")
            },
            "parameter 'connect_timeout' is given twice",
        ),
    },
    Case {
        url: "SCHEME://db.example/lino?password=hunter2&password=hunter2",
        expect: Expect::Refused(
            Parts {
                params: &[("password", SECRET), ("password", SECRET)],
                ..parts(None, H, None, "lino")
            },
            "parameter 'password' is given twice",
        ),
    },
    Case {
        url: "SCHEME://u:hunter2@db.example/lino?colour=red",
        expect: Expect::Refused(
            Parts {
                password: Some(SECRET),
                params: &[("colour", "red")],
                ..parts(U, H, None, "lino")
            },
            "unknown parameter",
        ),
    },
    Case {
        url: "SCHEME://db.example/lino?password=hunter2&colour=red",
        expect: Expect::Refused(
            Parts {
                params: &[("password", SECRET), ("colour", "red")],
                ..parts(None, H, None, "lino")
            },
            "unknown parameter",
        ),
    },
    // User and password as parameters: not the authority's (each server
    // reads them), and the password hidden when shown.
    Case {
        url: "SCHEME://db.example/lino?password=hunter2&user=u&connect_timeout=%33",
        expect: Expect::Parsed(Parts {
            params: &[
                ("password", SECRET),
                ("user", "u"),
                ("connect_timeout", "3"),
            ],
            ..parts(None, H, None, "lino")
        }),
    },
];

impl Parts {
    /// Differences from `seen`; `all`: every part, as [`DbUrl`] must.
    fn differences(&self, seen: &Seen, all: bool) -> Vec<String> {
        let mut out = Vec::new();
        let mut cmp = |what: &str, want: String, got: String, given: bool| {
            if (all || given) && want != got {
                out.push(format!("{what}: want {want}, got {got}"));
            }
        };
        cmp(
            "user",
            format!("{:?}", self.user),
            format!("{:?}", seen.user.as_deref()),
            self.user.is_some(),
        );
        cmp(
            "password",
            format!("{:?}", self.password),
            format!("{:?}", seen.password.as_deref()),
            self.password.is_some(),
        );
        cmp(
            "server",
            format!("{:?}", self.server.map(Place::from)),
            format!("{:?}", seen.server),
            self.server.is_some(),
        );
        cmp(
            "port",
            format!("{:?}", self.port),
            format!("{:?}", seen.port),
            self.port.is_some(),
        );
        cmp("path", self.path.into(), seen.path.clone(), true);
        let params: Vec<(String, String)> = self
            .params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        cmp(
            "params",
            format!("{params:?}"),
            format!("{:?}", seen.params),
            false,
        );
        out
    }
}

/// Runs every case through `parse` with `scheme`; panics with all that
/// went wrong. `syntax`: `parse` is [`DbUrl`]'s (refusals are the
/// servers' to make, and parameters are compared).
pub fn check(scheme: &str, parse: &dyn Fn(&str) -> Result<Seen, String>, syntax: bool) {
    let mut wrong = Vec::new();
    for case in CASES {
        let url = case.url.replace("SCHEME", scheme);
        let got = parse(&url);
        let problems = match (&case.expect, &got) {
            (Expect::Parsed(p), Ok(seen)) => p.differences(seen, syntax),
            (Expect::Refused(p, _), Ok(seen)) if syntax => p.differences(seen, syntax),
            (Expect::Bad(why), Err(e)) => (!e.contains(why))
                .then(|| format!("error lacks {why:?}: {e}"))
                .into_iter()
                .collect(),
            (Expect::Refused(_, why), Err(e)) if !syntax => (!e.contains(why))
                .then(|| format!("error lacks {why:?}: {e}"))
                .into_iter()
                .collect(),
            (_, Ok(seen)) => vec![format!("parsed, as {seen:?}")],
            (_, Err(e)) => vec![format!("refused: {e}")],
        };
        let shown = match &got {
            Ok(seen) => seen.shown.clone().unwrap_or_default(),
            Err(e) => e.clone(),
        };
        let leaks = shown
            .contains(SECRET)
            .then(|| format!("shows the password: {shown}"));
        for p in problems.into_iter().chain(leaks) {
            wrong.push(format!("{url}: {p}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// A site's database `django.db.backends.{engine}` at `db.example`, user
/// `u`, name `lino`, with these OPTIONS: for the sources' mapping tests.
pub fn with_options(engine: &str, options: serde_json::Value) -> Database {
    Database {
        engine: format!("django.db.backends.{engine}"),
        name: "lino".into(),
        user: "u".into(),
        host: "db.example".into(),
        options: match options {
            serde_json::Value::Object(m) => m,
            _ => serde_json::Map::new(),
        },
        ..Database::default()
    }
}

/// [`with_options`]'s URL, as `to_url` (the source that reads `engine`) makes it.
pub fn url_of(
    to_url: impl Fn(&Database) -> crate::error::Result<String>,
    engine: &str,
    options: serde_json::Value,
) -> String {
    match to_url(&with_options(engine, options)) {
        Ok(u) => u,
        Err(e) => panic!("{engine}: {e}"),
    }
}
