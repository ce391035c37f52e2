//! The web edge against a real server on both engines: sign-in, sign-up, CSRF, throttling,
//! second factor, password reset by email, desk verification, the authorization matrix, the
//! JSON API and its errors, and the operations endpoints.

mod common;

use cityhall_core::identity::Role;
use cityhall_db::{AuditStore, Engine, IdentityStore};
use common::*;

web_test!(
    home_is_vietnamese_and_remembers_english,
    |engine: Engine| async move {
        let Some(s) = start(engine, |_| {}).await else {
            return;
        };
        let c = Client::new(&s);
        let (status, body) = c.text("/").await;
        assert_eq!(status, 200);
        assert!(body.contains("<html lang=\"vi\">"), "{body}");
        assert!(body.contains("168 phường, xã, đặc khu"));
        let (_, en) = c.text("/?lang=en").await;
        assert!(en.contains("<html lang=\"en\">") && en.contains("Welcome"));
        // Remembered in a cookie.
        let (_, again) = c.text("/").await;
        assert!(again.contains("<html lang=\"en\">"));
        let (_, vi) = c.text("/login?lang=vi").await;
        assert!(vi.contains("Đăng nhập"));
        let r = c.get("/").await;
        let h = r.headers();
        assert!(h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'"));
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert!(h.contains_key("referrer-policy"));
    }
);

web_test!(sign_in_and_out, |engine: Engine| async move {
    let Some(s) = start(engine, |_| {}).await else {
        return;
    };
    s.user("an", Role::Citizen, None).await;
    let c = Client::new(&s);
    let r = c.login("an", PASSWORD).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/account");
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("cityhall_session="))
        .unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let (status, body) = c.text("/account").await;
    assert_eq!(status, 200);
    assert!(body.contains("data-testid=\"account-username\">an<"));
    let r = c.post_form("/logout", &[]).await;
    assert_eq!(r.status(), 303);
    let r = c.get("/account").await;
    assert_eq!(r.status(), 303);
    assert!(location(&r).starts_with("/login?next=%2Faccount"));
    // `next` brings the person back, but never off-site.
    let r = c
        .post_form(
            "/login",
            &[
                ("username", "an"),
                ("password", PASSWORD),
                ("next", "//evil.example/"),
            ],
        )
        .await;
    assert_eq!(location(&r), "/account");
});

web_test!(
    wrong_password_and_unknown_user_look_the_same,
    |engine: Engine| async move {
        let Some(s) = start(engine, |_| {}).await else {
            return;
        };
        s.user("an", Role::Citizen, None).await;
        let c = Client::new(&s);
        let a = c.login("an", "wrong-password").await;
        assert_eq!(a.status(), 401);
        let a = a.text().await.unwrap();
        let b = c
            .login("nobody", "wrong-password")
            .await
            .text()
            .await
            .unwrap();
        assert!(
            a.contains("role=\"alert\"") && a.contains("Tên đăng nhập hoặc mật khẩu không đúng.")
        );
        assert!(b.contains("Tên đăng nhập hoặc mật khẩu không đúng."));
        assert_eq!(c.get("/account").await.status(), 303, "no session was made");
    }
);

web_test!(
    repeated_failures_lock_the_account_across_replicas,
    |engine: Engine| async move {
        let Some(s) = start(engine, |_| {}).await else {
            return;
        };
        s.user("an", Role::Citizen, None).await;
        let c = Client::new(&s);
        for _ in 0..5 {
            c.login("an", "wrong-password").await;
        }
        // Even the right password is refused now, with a message saying until when.
        let r = c.login("an", PASSWORD).await;
        assert_eq!(r.status(), 401);
        let body = r.text().await.unwrap();
        assert!(body.contains("tạm khóa"), "{body}");
        // The lock lives in the database: a second replica on the same database agrees.
        let replica =
            cityhall_web::AppState::new(s.db.clone(), cityhall_web::WebConfig::for_tests());
        let refused = cityhall_web::identity::check_password(&replica, "an", PASSWORD)
            .await
            .unwrap();
        assert!(matches!(
            refused,
            Err(cityhall_web::identity::LoginRefusal::Locked(_))
        ));
        let recent = s.db.recent(20).await.unwrap();
        assert!(recent.iter().any(|e| e.action == "login.lockout"));
    }
);

web_test!(forms_need_the_csrf_token, |engine: Engine| async move {
    let Some(s) = start(engine, |_| {}).await else {
        return;
    };
    s.user("an", Role::Citizen, None).await;
    let c = Client::new(&s);
    c.get("/login").await;
    let missing = c
        .http
        .post(format!("{}/login", s.base))
        .form(&[("username", "an"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 403);
    assert!(missing
        .text()
        .await
        .unwrap()
        .contains("Phiên biểu mẫu đã hết hạn"));
    let wrong = c
        .http
        .post(format!("{}/login", s.base))
        .form(&[
            ("csrf_token", "x".repeat(43).as_str()),
            ("username", "an"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 403);
    assert_eq!(c.get("/account").await.status(), 303, "nothing changed");
    // A form of another browser does not work in this one.
    let other = Client::new(&s);
    let token = other.csrf("/login").await;
    let r = c
        .http
        .post(format!("{}/login", s.base))
        .form(&[
            ("csrf_token", token.as_str()),
            ("username", "an"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
});

web_test!(
    sign_up_with_phone_and_claimed_id,
    |engine: Engine| async move {
        let Some(s) = start(engine, |_| {}).await else {
            return;
        };
        let c = Client::new(&s);
        let form = [
            ("contact", "+84 912 345 678"),
            ("full_name", "Trần Thị Bình"),
            ("password", "mật-khẩu-dài-đủ"),
            ("password_confirm", "mật-khẩu-dài-đủ"),
            ("national_id", "079301000123"),
        ];
        let r = c.post_form("/signup", &form).await;
        assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
        let (_, body) = c.text("/account").await;
        assert!(body.contains("0912345678"));
        assert!(body.contains("Tự khai, chưa xác thực"));
        assert!(body.contains("••••••••0123"));
        assert!(
            !body.contains("079301000123"),
            "the full ID is never shown back"
        );
        // The same phone again is refused, the form keeps what was typed.
        let c2 = Client::new(&s);
        let r = c2
            .post_form(
                "/signup",
                &[
                    ("contact", "0912345678"),
                    ("full_name", "Người Khác"),
                    ("password", "another-long-one"),
                    ("password_confirm", "another-long-one"),
                ],
            )
            .await;
        assert_eq!(r.status(), 422);
        let body = r.text().await.unwrap();
        assert!(body.contains("đã có tài khoản") && body.contains("value=\"Người Khác\""));
        // Mismatched passwords.
        let r = c2
            .post_form(
                "/signup",
                &[
                    ("contact", "binh@example.vn"),
                    ("full_name", "Bình"),
                    ("password", "long-enough-pass"),
                    ("password_confirm", "different-pass-x"),
                ],
            )
            .await;
        assert_eq!(r.status(), 422);
        let body = r.text().await.unwrap();
        assert!(
            body.contains("Hai mật khẩu không khớp.") && body.contains("value=\"binh@example.vn\"")
        );
        assert_eq!(c2.get("/account").await.status(), 303);
        // Bad national ID.
        let r = c2
            .post_form(
                "/signup",
                &[
                    ("contact", "binh@example.vn"),
                    ("full_name", "Bình"),
                    ("password", "long-enough-pass"),
                    ("password_confirm", "long-enough-pass"),
                    ("national_id", "12345"),
                ],
            )
            .await;
        assert!(r.text().await.unwrap().contains("12 chữ số"));
    }
);

web_test!(
    an_officer_verifies_identity_and_the_resident_sees_it,
    |engine: Engine| async move {
        let Some(s) = start(engine, |_| {}).await else {
            return;
        };
        s.user("officer.ward", Role::Officer, Some("UBND-26740"))
            .await;
        let resident = Client::new(&s);
        resident
            .post_form(
                "/signup",
                &[
                    ("contact", "an@example.vn"),
                    ("full_name", "An"),
                    ("password", "long-enough-pass"),
                    ("password_confirm", "long-enough-pass"),
                    ("national_id", "079090000777"),
                ],
            )
            .await;
        let officer = s.signed_in("officer.ward").await;
        let r = officer
            .post_form(
                "/staff/verify-identity",
                &[
                    ("username", "an@example.vn"),
                    ("national_id", "079090000777"),
                ],
            )
            .await;
        assert_eq!(r.status(), 200);
        assert!(r
            .text()
            .await
            .unwrap()
            .contains("Đã xác thực danh tính cho tài khoản an@example.vn"));
        let (_, body) = resident.text("/account").await;
        assert!(body.contains("Đã xác thực"));
        assert!(
            body.contains("officer.ward") && body.contains("user.identity.verify"),
            "who touched my data is shown"
        );
        // A bad number changes nothing.
        let r = officer
            .post_form(
                "/staff/verify-identity",
                &[("username", "an@example.vn"), ("national_id", "1")],
            )
            .await;
        assert_eq!(r.status(), 422);
    }
);

web_test!(staff_second_factor, |engine: Engine| async move {
    let Some(s) = start(engine, |_| {}).await else {
        return;
    };
    let id = s.user("officer.mfa", Role::Officer, Some("SOTUPHAP")).await;
    let c = s.signed_in("officer.mfa").await;
    c.post_form("/account/totp", &[]).await;
    let (_, body) = c.text("/account").await;
    let secret = extract(&body, "data-testid=\"totp-secret\">", "<").unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let raw = cityhall_web::auth::totp::base32_decode(&secret).unwrap();
    let code = cityhall_web::auth::totp::code_at(&raw, now, 6);
    let r = c
        .post_form("/account/totp/confirm", &[("code", &code)])
        .await;
    assert_eq!(location(&r), "/account?notice=totp");
    assert!(s.db.user_by_id(&id).await.unwrap().unwrap().totp_enabled);
    // From now on the password alone is not enough.
    let c2 = Client::new(&s);
    let r = c2.login("officer.mfa", PASSWORD).await;
    assert!(location(&r).starts_with("/login/mfa"));
    assert_eq!(
        c2.get("/staff").await.status(),
        303,
        "half signed-in is not signed-in"
    );
    let r = c2.post_form("/login/mfa", &[("code", "000000")]).await;
    assert_eq!(r.status(), 401);
    let code = cityhall_web::auth::totp::code_at(
        &raw,
        time::OffsetDateTime::now_utc().unix_timestamp(),
        6,
    );
    let r = c2.post_form("/login/mfa", &[("code", &code)]).await;
    assert_eq!(location(&r), "/account");
    assert_eq!(c2.get("/staff").await.status(), 200);
});

web_test!(
    password_reset_by_email_through_the_outbox,
    |engine: Engine| async move {
        let sink = SmtpSink::start().await;
        let port = sink.port;
        let Some(s) = start(engine, |c| {
            c.smtp = Some(cityhall_web::SmtpConfig {
                host: "127.0.0.1".into(),
                port,
                username: None,
                password: None,
                from: "cityhall@example.vn".into(),
                tls: cityhall_web::SmtpTls::None,
            });
        })
        .await
        else {
            return;
        };
        let c = Client::new(&s);
        c.post_form(
            "/signup",
            &[
                ("contact", "reset@example.vn"),
                ("full_name", "Reset"),
                ("password", "old-password-1"),
                ("password_confirm", "old-password-1"),
            ],
        )
        .await;
        let r = c
            .post_form("/password/forgot", &[("login", "RESET@example.vn")])
            .await;
        assert!(r.text().await.unwrap().contains("mã đã được gửi"));
        // The same answer for an unknown account, and no mail.
        let r = c
            .post_form("/password/forgot", &[("login", "nobody@example.vn")])
            .await;
        assert!(r.text().await.unwrap().contains("mã đã được gửi"));
        let mut mail = None;
        for _ in 0..100 {
            if let Some(m) = sink.messages.lock().unwrap().first().cloned() {
                mail = Some(m);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let mail = mail.expect("the reset mail arrives");
        assert!(mail.contains("To: reset@example.vn"), "{mail}");
        let encoded: String = mail
            .split("\r\n\r\n")
            .nth(1)
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        use base64::Engine as _;
        let text = String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .unwrap(),
        )
        .unwrap();
        assert!(text.contains("Mã lấy lại mật khẩu của bạn là"), "{text}");
        let code: String = text
            .split(" là ")
            .nth(1)
            .map(|t| t.chars().take(6).collect())
            .unwrap_or_default();
        assert_eq!(code.len(), 6, "{mail}");
        let r = c
            .post_form(
                "/password/reset",
                &[
                    ("login", "reset@example.vn"),
                    ("code", "999999"),
                    ("new_password", "new-password-22"),
                ],
            )
            .await;
        assert_eq!(r.status(), 422);
        let r = c
            .post_form(
                "/password/reset",
                &[
                    ("login", "reset@example.vn"),
                    ("code", &code),
                    ("new_password", "new-password-22"),
                ],
            )
            .await;
        assert_eq!(location(&r), "/login?notice=reset");
        assert_eq!(
            Client::new(&s)
                .login("reset@example.vn", "old-password-1")
                .await
                .status(),
            401
        );
        assert_eq!(
            Client::new(&s)
                .login("reset@example.vn", "new-password-22")
                .await
                .status(),
            303
        );
        // A code works once.
        let r = c
            .post_form(
                "/password/reset",
                &[
                    ("login", "reset@example.vn"),
                    ("code", &code),
                    ("new_password", "third-password-3"),
                ],
            )
            .await;
        assert_eq!(r.status(), 422);
        assert_eq!(sink.messages.lock().unwrap().len(), 1);
    }
);

// Every route × every role: what each may open.
web_test!(authorization_matrix, |engine: Engine| async move {
    let Some(s) = start(engine, |_| {}).await else {
        return;
    };
    s.user("m.citizen", Role::Citizen, None).await;
    s.user("m.officer", Role::Officer, Some("SOTUPHAP")).await;
    s.user("m.agencyadmin", Role::AgencyAdmin, Some("SOTUPHAP"))
        .await;
    s.user("m.cityadmin", Role::CityAdmin, None).await;
    s.user("m.auditor", Role::Auditor, None).await;
    let roles = [
        "anon",
        "m.citizen",
        "m.officer",
        "m.agencyadmin",
        "m.cityadmin",
        "m.auditor",
    ];
    let mut clients = vec![];
    for r in roles {
        clients.push(if r == "anon" {
            Client::new(&s)
        } else {
            s.signed_in(r).await
        });
    }
    // (path, expected status for each role in the order above); 303 = sent to sign in.
    let gets: &[(&str, [u16; 6])] = &[
        ("/", [200; 6]),
        ("/login", [200; 6]),
        ("/signup", [200; 6]),
        ("/password/forgot", [200; 6]),
        ("/account", [303, 200, 200, 200, 200, 200]),
        ("/staff", [303, 403, 200, 200, 200, 200]),
        ("/admin/agencies", [303, 403, 403, 200, 200, 403]),
        ("/admin/users", [303, 403, 403, 200, 200, 403]),
        ("/audit", [303, 403, 403, 403, 200, 200]),
        ("/api/v1", [200; 6]),
        ("/api/v1/openapi.json", [200; 6]),
        ("/api/v1/units", [200; 6]),
        ("/api/v1/agencies", [200; 6]),
        ("/api/v1/me", [401, 200, 200, 200, 200, 200]),
        ("/healthz", [200; 6]),
        ("/readyz", [200; 6]),
        ("/metrics", [200; 6]),
        ("/khong-ton-tai", [404; 6]),
    ];
    for (path, expected) in gets {
        for (i, c) in clients.iter().enumerate() {
            let got = c.get(path).await.status().as_u16();
            assert_eq!(got, expected[i], "GET {path} as {}", roles[i]);
        }
    }
    type FormCase<'a> = (&'a str, &'a [(&'a str, &'a str)], [u16; 6]);
    let posts: &[FormCase] = &[
        (
            "/staff/verify-identity",
            &[("username", "nobody"), ("national_id", "079090000001")],
            [303, 403, 422, 403, 403, 403],
        ),
        (
            "/admin/users",
            &[
                ("username", "x"),
                ("full_name", "x"),
                ("role", "officer"),
                ("agency", "SOTUPHAP"),
                ("password", "short"),
            ],
            [303, 403, 403, 422, 422, 403],
        ),
        ("/account/totp", &[], [303, 303, 303, 303, 303, 303]),
    ];
    for (path, form, expected) in posts {
        for (i, c) in clients.iter().enumerate() {
            let got = c.post_form(path, form).await.status().as_u16();
            assert_eq!(got, expected[i], "POST {path} as {}", roles[i]);
        }
    }
    // An agency admin manages only their own agency.
    let admin = &clients[3];
    let r = admin
        .post_form(
            "/admin/users",
            &[
                ("username", "new.officer"),
                ("full_name", "Mới"),
                ("role", "officer"),
                ("agency", "SOXAYDUNG"),
                ("password", "long-enough-pass"),
            ],
        )
        .await;
    assert_eq!(r.status(), 403);
    let r = admin
        .post_form(
            "/admin/users",
            &[
                ("username", "new.officer"),
                ("full_name", "Mới"),
                ("role", "officer"),
                ("agency", "SOTUPHAP"),
                ("password", "long-enough-pass"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let r = admin
        .post_form(
            "/admin/users",
            &[
                ("username", "new.admin"),
                ("full_name", "Mới"),
                ("role", "city_admin"),
                ("agency", ""),
                ("password", "long-enough-pass"),
            ],
        )
        .await;
    assert_eq!(r.status(), 403, "an agency admin cannot make a city admin");
});

web_test!(admin_pages_list_and_manage, |engine: Engine| async move {
    let Some(s) = start(engine, |_| {}).await else {
        return;
    };
    s.user("boss", Role::CityAdmin, None).await;
    let victim = s.user("someone", Role::Citizen, None).await;
    let c = s.signed_in("boss").await;
    let (_, body) = c.text("/admin/agencies").await;
    assert!(body.contains("SOTUPHAP") && body.contains("UBND-26740") && body.contains("CA-26740"));
    // Search works without diacritics.
    let (_, body) = c.text("/admin/agencies?q=so%20tu%20phap").await;
    assert!(body.contains("SOTUPHAP") && !body.contains("UBND-26740"));
    let (_, body) = c.text("/admin/users").await;
    assert!(body.contains("someone"));
    let r = c
        .post_form(&format!("/admin/users/{victim}/disable"), &[])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        Client::new(&s).login("someone", PASSWORD).await.status(),
        401
    );
    let r = c
        .post_form(
            "/admin/users",
            &[
                ("username", "officer.new"),
                ("full_name", "Cán Bộ Mới"),
                ("role", "officer"),
                ("agency", "ubnd-26743"),
                ("password", "long-enough-pass"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let u = s.db.user_by_login("officer.new").await.unwrap().unwrap();
    let roles = s.db.roles_of(&u.id).await.unwrap();
    assert_eq!(roles[0].agency_code, "UBND-26743");
    let r = c
        .post_form(
            "/admin/users",
            &[
                ("username", "officer.bad"),
                ("full_name", "X"),
                ("role", "officer"),
                ("agency", "NOPE"),
                ("password", "long-enough-pass"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Cơ quan không tồn tại."));
    // Listing users is itself recorded, once for the list.
    let recent = s.db.recent(50).await.unwrap();
    assert!(recent
        .iter()
        .any(|e| e.action == "user.list" && e.actor == "boss"));
});

web_test!(api_tokens_and_errors, |engine: Engine| async move {
    // A small body limit, so an oversized body still fits the socket buffers: the server
    // answers 413 before reading it, and the client must not see a broken pipe instead.
    let Some(s) = start(engine, |c| c.body_limit = 64 * 1024).await else {
        return;
    };
    s.user("api.user", Role::Officer, Some("SOTUPHAP")).await;
    // No kept-alive connections: after refusing an unread body the server closes the
    // connection, and a pooled client would otherwise reuse it for the next request.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let r = http
        .post(s.url("/api/v1/auth/token"))
        .json(&serde_json::json!({"username": "api.user", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let token = r.json::<serde_json::Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let me: serde_json::Value = http
        .get(s.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["username"], "api.user");
    assert_eq!(me["roles"][0]["agency"], "SOTUPHAP");
    // Only the hash of the token is stored.
    let stored: i64 = cityhall_db::run!(&s.db, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM api_tokens WHERE token_hash = $1"
    )
    .bind(&token)
    .fetch_one(c)
    .await)
    .unwrap();
    assert_eq!(stored, 0);
    let r = http
        .get(s.url("/api/v1/me"))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    let e: serde_json::Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "unauthorized");
    let r = http
        .post(s.url("/api/v1/auth/token"))
        .json(&serde_json::json!({"username": "api.user", "password": "nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"]["code"],
        "invalid_credentials"
    );
    let r = http
        .post(s.url("/api/v1/auth/token"))
        .header("content-type", "application/json")
        .body("{\"username\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let e: serde_json::Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "malformed_json");
    let r = http
        .post(s.url("/api/v1/auth/token"))
        .header("content-type", "application/json")
        .body("{\"username\": 5, \"password\": \"x\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let r = http
        .post(s.url("/api/v1/auth/token"))
        .body("username=x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"]["code"],
        "unsupported_media_type"
    );
    let big = "x".repeat(100 * 1024);
    let r = http
        .post(s.url("/api/v1/auth/token"))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"]["code"],
        "payload_too_large"
    );
    let r = http
        .get(s.url("/api/v1/nope?lang=en"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"]["message"],
        "The page you asked for does not exist."
    );
    let doc: serde_json::Value = http
        .get(s.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["paths"]["/api/v1/auth/token"]["post"].is_object());
    let units: serde_json::Value = http
        .get(s.url("/api/v1/units"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(units.as_array().unwrap().len(), 168);
    // An oversized form on a page gets a page, in the user's language.
    let r = http
        .post(s.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("a=".to_string() + &"x".repeat(100 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert!(r.text().await.unwrap().contains("quá lớn"));
});

web_test!(metrics_and_readiness, |engine: Engine| async move {
    let Some(s) = start(engine, |_| {}).await else {
        return;
    };
    let c = Client::new(&s);
    c.get("/").await;
    let (status, body) = c.text("/metrics").await;
    assert_eq!(status, 200);
    assert!(
        body.contains("http_requests_total") && body.contains("route=\"/\""),
        "{body}"
    );
    assert!(body.contains("http_request_duration_seconds"));
    assert_eq!(c.text("/readyz").await, (200, "ready".into()));
    // The database goes away: readiness says so, pages say so, nothing hangs.
    s.db.close().await;
    let (status, body) = c.text("/readyz").await;
    assert_eq!(status, 503, "{body}");
    let (status, body) = c.text("/").await;
    assert_eq!(status, 503);
    assert!(body.contains("không truy cập được cơ sở dữ liệu"), "{body}");
    assert_eq!(c.text("/healthz").await.0, 200);
});

web_test!(
    audit_entries_get_sealed_by_the_server,
    |engine: Engine| async move {
        let Some(s) = start(engine, |_| {}).await else {
            return;
        };
        s.user("sealed", Role::Citizen, None).await;
        let mut sealed = false;
        for _ in 0..50 {
            let r =
                s.db.verify(
                    &s.state.config.audit_key.verifying_key(),
                    time::OffsetDateTime::now_utc(),
                )
                .await
                .unwrap();
            assert_eq!(r.problem, None);
            if r.pending == 0 && r.sealed > 0 {
                sealed = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(sealed, "the sealer chains new entries within its interval");
    }
);

/// A stand-in national e-ID provider: discovery, and a token endpoint that checks PKCE.
async fn fake_provider(
    nonce: std::sync::Arc<std::sync::Mutex<(String, String)>>,
    national_id: &'static str,
) -> String {
    use axum::routing::{get, post};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let b = base.clone();
    let app = axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(move || {
                let b = b.clone();
                async move { axum::Json(serde_json::json!({"issuer": b, "authorization_endpoint": format!("{b}/authorize"), "token_endpoint": format!("{b}/token")})) }
            }),
        )
        .route(
            "/token",
            post({
                let b = base.clone();
                move |axum::Form(f): axum::Form<std::collections::HashMap<String, String>>| {
                    let b = b.clone();
                    let nonce = nonce.clone();
                    async move {
                        use base64::Engine as _;
                        use sha2::Digest as _;
                        let (n, challenge) = nonce.lock().unwrap().clone();
                        let verifier = f.get("code_verifier").cloned().unwrap_or_default();
                        let got = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
                        if f.get("code").map(String::as_str) != Some("good-code") || got != challenge {
                            return (axum::http::StatusCode::BAD_REQUEST, axum::Json(serde_json::json!({"error": "invalid_grant"})));
                        }
                        let claims = serde_json::json!({"iss": b, "aud": "cityhall", "exp": time::OffsetDateTime::now_utc().unix_timestamp() + 300, "nonce": n, "sub": "x", "national_id": national_id});
                        let enc = |v: &serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
                        let jwt = format!("{}.{}.sig", enc(&serde_json::json!({"alg": "RS256"})), enc(&claims));
                        (axum::http::StatusCode::OK, axum::Json(serde_json::json!({"id_token": jwt, "access_token": "a", "token_type": "Bearer"})))
                    }
                }
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

web_test!(
    identity_verified_through_the_e_id_provider,
    |engine: Engine| async move {
        let shared = std::sync::Arc::new(std::sync::Mutex::new((String::new(), String::new())));
        let issuer = fake_provider(shared.clone(), "079090001234").await;
        let iss = issuer.clone();
        let Some(s) = start(engine, move |c| {
            c.oidc = Some(cityhall_web::oidc::OidcConfig {
                issuer: iss.clone(),
                client_id: "cityhall".into(),
                client_secret: "s3cret".into(),
                redirect_url: "http://cityhall.test/auth/oidc/callback".into(),
                national_id_claim: "national_id".into(),
            })
        })
        .await
        else {
            return;
        };
        s.user("eid.user", Role::Citizen, None).await;
        let c = s.signed_in("eid.user").await;
        let (_, body) = c.text("/account").await;
        assert!(body.contains("/account/verify/oidc"));
        let r = c.post_form("/account/verify/oidc", &[]).await;
        assert_eq!(r.status(), 303);
        let to = location(&r);
        assert!(to.starts_with(&format!("{issuer}/authorize?")), "{to}");
        let params: std::collections::HashMap<String, String> =
            serde_urlencoded::from_str(to.split_once('?').unwrap().1).unwrap();
        assert_eq!(params["code_challenge_method"], "S256");
        *shared.lock().unwrap() = (params["nonce"].clone(), params["code_challenge"].clone());
        // A forged state is refused and changes nothing.
        let r = c
            .get("/auth/oidc/callback?code=good-code&state=forged")
            .await;
        assert_eq!(r.status(), 400);
        let r = c
            .get(&format!(
                "/auth/oidc/callback?code=good-code&state={}",
                params["state"]
            ))
            .await;
        assert_eq!(location(&r), "/account?notice=verified");
        let (_, body) = c.text("/account").await;
        assert!(body.contains("Đã xác thực") && body.contains("••••••••1234"));
        assert!(body.contains("user.identity.verify"));
    }
);

web_test!(admins_grant_and_revoke_roles, |engine: Engine| async move {
    let Some(s) = start(engine, |_| {}).await else {
        return;
    };
    s.user("boss2", Role::CityAdmin, None).await;
    let id = s.user("promoted", Role::Citizen, None).await;
    let c = s.signed_in("boss2").await;
    let r = c
        .post_form(
            "/admin/roles",
            &[
                ("username", "promoted"),
                ("role", "officer"),
                ("agency", "ca-26740"),
                ("action", "grant"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let roles = s.db.roles_of(&id).await.unwrap();
    assert!(
        roles
            .iter()
            .any(|r| r.role == "officer" && r.agency_code == "CA-26740"),
        "{roles:?}"
    );
    // The new officer can open the staff desk at once.
    assert_eq!(
        s.signed_in("promoted").await.get("/staff").await.status(),
        200
    );
    let r = c
        .post_form(
            "/admin/roles",
            &[
                ("username", "promoted"),
                ("role", "officer"),
                ("agency", "CA-26740"),
                ("action", "revoke"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(s.db.roles_of(&id).await.unwrap().len(), 1);
    let r = c
        .post_form(
            "/admin/roles",
            &[
                ("username", "nobody"),
                ("role", "officer"),
                ("agency", "CA-26740"),
                ("action", "grant"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let r = c
        .post_form(
            "/admin/roles",
            &[
                ("username", "promoted"),
                ("role", "officer"),
                ("agency", "NOPE"),
                ("action", "grant"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let trail = s.db.entries_for_subject(&id, 20).await.unwrap();
    assert!(trail
        .iter()
        .any(|e| e.action == "user.role.grant" && e.actor == "boss2"));
    assert!(trail.iter().any(|e| e.action == "user.role.revoke"));
});

web_test!(
    sms_goes_through_the_webhook_and_is_retried,
    |engine: Engine| async move {
        use std::sync::atomic::{AtomicUsize, Ordering};
        // A gateway that fails the first call and accepts the next.
        let calls = std::sync::Arc::new(AtomicUsize::new(0));
        let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::<serde_json::Value>::new()));
        let (calls2, got2) = (calls.clone(), got.clone());
        let app = axum::Router::new().route(
            "/sms",
            axum::routing::post(move |axum::Json(v): axum::Json<serde_json::Value>| {
                let (calls, got) = (calls2.clone(), got2.clone());
                async move {
                    if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                        return axum::http::StatusCode::SERVICE_UNAVAILABLE;
                    }
                    got.lock().unwrap().push(v);
                    axum::http::StatusCode::OK
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let hook = format!("http://{}/sms", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let Some(s) = start(engine, move |c| c.sms_webhook = Some(hook)).await else {
            return;
        };
        let c = Client::new(&s);
        c.post_form(
            "/signup",
            &[
                ("contact", "0987654321"),
                ("full_name", "Phone User"),
                ("password", "long-enough-pass"),
                ("password_confirm", "long-enough-pass"),
            ],
        )
        .await;
        c.post_form("/password/forgot", &[("login", "0987 654 321")])
            .await;
        // The first attempt failed; the message waits for its backoff and is not lost.
        for _ in 0..50 {
            if calls.load(Ordering::SeqCst) >= 1 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let stats = cityhall_db::NotifyStore::outbox_stats(&s.db).await.unwrap();
        assert_eq!((stats.queued, stats.sent), (1, 0));
        // Time passes (the retry is due); the worker delivers it once.
        let mut tx = s.db.begin().await.unwrap();
        cityhall_db::tx!(&mut tx, |c| sqlx::query(
            "UPDATE outbox SET next_attempt_at = 0"
        )
        .execute(c)
        .await
        .map(|_| ()))
        .unwrap();
        tx.commit().await.unwrap();
        for _ in 0..50 {
            if !got.lock().unwrap().is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let got = got.lock().unwrap().clone();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0]["to"], "+84987654321");
        assert!(got[0]["text"]
            .as_str()
            .unwrap()
            .contains("Mã lấy lại mật khẩu"));
        // Asking again and again does not flood the phone.
        for _ in 0..8 {
            c.post_form("/password/forgot", &[("login", "0987654321")])
                .await;
        }
        let count: i64 =
            cityhall_db::run!(&s.db, |c| sqlx::query_scalar("SELECT COUNT(*) FROM outbox")
                .fetch_one(c)
                .await)
            .unwrap();
        assert!(count <= 5, "{count} messages queued");
    }
);

web_test!(
    api_tokens_can_be_revoked_by_their_owner,
    |engine: Engine| async move {
        let Some(s) = start(engine, |_| {}).await else {
            return;
        };
        s.user("tok.owner", Role::Citizen, None).await;
        s.user("tok.other", Role::Citizen, None).await;
        let http = reqwest::Client::new();
        let token: serde_json::Value = http.post(s.url("/api/v1/auth/token")).json(&serde_json::json!({"username": "tok.owner", "password": PASSWORD, "name": "my script"})).send().await.unwrap().json().await.unwrap();
        let token = token["token"].as_str().unwrap().to_string();
        assert_eq!(
            http.get(s.url("/api/v1/me"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
        let c = s.signed_in("tok.owner").await;
        let (_, body) = c.text("/account").await;
        assert!(body.contains("my script"));
        let id = extract(&body, "action=\"/account/tokens/", "/revoke\"").unwrap();
        // Someone else cannot revoke it.
        let other = s.signed_in("tok.other").await;
        assert_eq!(
            other
                .post_form(&format!("/account/tokens/{id}/revoke"), &[])
                .await
                .status(),
            404
        );
        assert_eq!(
            http.get(s.url("/api/v1/me"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
        let r = c
            .post_form(&format!("/account/tokens/{id}/revoke"), &[])
            .await;
        assert_eq!(location(&r), "/account?notice=token");
        assert_eq!(
            http.get(s.url("/api/v1/me"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .status(),
            401
        );
        let (_, body) = c.text("/account").await;
        assert!(body.contains("Đã thu hồi"));
    }
);
