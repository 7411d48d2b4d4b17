//! The real SMTP path (`lettre`, plain `smtp://`) against a tiny SMTP sink
//! in the test: what a registration sends arrives, and its link verifies.
//! With `TESSERA_TEST_SMTP_URL` set (the CI harness's SMTP server), one
//! message is also delivered there.

use crate::{cfg, ctx, no_throttle, secret, PASSWORD, T0};
use std::sync::{Arc, Mutex};
use tessera_core::mail::{MailKind, Mailer, Message, SmtpMailer, Templates};
use tessera_core::App;
use tessera_jose::ManualClock;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// How the sink answers `RCPT TO`: these codes first, then 250.
#[derive(Default)]
struct Sink {
    received: Mutex<Vec<String>>,
    rcpt_replies: Mutex<Vec<&'static str>>,
}

/// Speaks just enough SMTP for lettre; returns the `smtp://` URL.
async fn start(sink: Arc<Sink>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("smtp://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let sink = sink.clone();
            tokio::spawn(async move {
                let (r, mut w) = sock.into_split();
                let mut lines = BufReader::new(r).lines();
                w.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                while let Ok(Some(line)) = lines.next_line().await {
                    let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                    let reply: String = match verb.as_str() {
                        "EHLO" => "250-sink\r\n250 8BITMIME\r\n".into(),
                        "HELO" | "MAIL" | "RSET" | "NOOP" => "250 ok\r\n".into(),
                        "RCPT" => {
                            let next = sink.rcpt_replies.lock().unwrap().pop();
                            format!("{} \r\n", next.unwrap_or("250 ok"))
                        }
                        "DATA" => {
                            w.write_all(b"354 go on\r\n").await.unwrap();
                            let mut msg = String::new();
                            while let Ok(Some(l)) = lines.next_line().await {
                                if l == "." {
                                    break;
                                }
                                msg.push_str(&l);
                                msg.push('\n');
                            }
                            sink.received.lock().unwrap().push(msg);
                            "250 queued\r\n".into()
                        }
                        "QUIT" => {
                            let _ = w.write_all(b"221 bye\r\n").await;
                            return;
                        }
                        _ => "502 not here\r\n".into(),
                    };
                    if w.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    url
}

fn message(to: &str) -> Message {
    Message {
        to: to.into(),
        subject: "Hello".into(),
        text: "plain part".into(),
        html: "<p>html part</p>".into(),
        kind: MailKind::PasswordChanged,
    }
}

#[tokio::test]
async fn a_registration_mail_arrives_over_smtp_and_its_link_verifies() {
    let sink = Arc::new(Sink::default());
    let url = start(sink.clone()).await;
    let mailer = Arc::new(SmtpMailer::new(&url, "Acme <id@acme.example>").unwrap());
    let dir = tempfile::tempdir().unwrap();
    let db_url = tessera_store::testing::fresh_database_url().await.unwrap();
    let store = tessera_store::open(db_url.as_deref(), dir.path())
        .await
        .unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let app = App::new_with_mailer(
        store,
        secret(),
        cfg(),
        no_throttle(),
        clock,
        mailer,
        Templates::load(None, "Acme ID").unwrap(),
    )
    .await
    .unwrap();
    app.accounts
        .register("ada@example.com", PASSWORD, &ctx())
        .await
        .unwrap();
    assert!(
        app.lifecycle
            .flush_mail(std::time::Duration::from_secs(30))
            .await
    );
    let got = sink.received.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "{got:?}");
    let raw = &got[0];
    assert!(raw.contains("To: ada@example.com"), "{raw}");
    assert!(raw.contains("From: Acme <id@acme.example>"), "{raw}");
    assert!(raw.contains("multipart/alternative"), "{raw}");
    assert!(
        raw.contains("text/plain") && raw.contains("text/html"),
        "{raw}"
    );
    // Quoted-printable, should lettre choose it for a long line.
    let text = raw.replace("=\n", "").replace("=3D", "=");
    let at = text.find("/account/verify?token=").expect("the link") + 22;
    let token: String = text[at..].chars().take(43).collect();
    app.lifecycle.verify_email(&token, &ctx()).await.unwrap();
    let user = app.accounts.user_by_email("ada@example.com").await.unwrap();
    assert!(user.unwrap().email_verified());
}

#[tokio::test]
async fn transient_refusals_are_errors_the_outbox_may_retry_and_permanent_ones_not() {
    let sink = Arc::new(Sink::default());
    let url = start(sink.clone()).await;
    let mailer = SmtpMailer::new(&url, "id@acme.example").unwrap();
    sink.rcpt_replies.lock().unwrap().push("451 try later");
    let e = mailer.send(&message("ada@example.com")).await.unwrap_err();
    assert!(e.is_transient(), "{e}");
    assert!(!e.to_string().contains("ada@example.com"), "{e}");
    sink.rcpt_replies.lock().unwrap().push("550 no such user");
    let e = mailer.send(&message("ada@example.com")).await.unwrap_err();
    assert!(!e.is_transient(), "{e}");
    mailer.send(&message("ada@example.com")).await.unwrap();
    assert_eq!(sink.received.lock().unwrap().len(), 1);
    // A recipient that is no address never reaches the server.
    let e = mailer.send(&message("not an address")).await.unwrap_err();
    assert!(!e.is_transient(), "{e}");
    assert!(SmtpMailer::new("http://nope", "id@acme.example").is_err());
    assert!(SmtpMailer::new(&url, "not an address").is_err());
}

#[tokio::test]
async fn a_real_smtp_server_accepts_a_message_when_one_is_configured() {
    let Ok(url) = std::env::var("TESSERA_TEST_SMTP_URL") else {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "skipped: real SMTP delivery (set TESSERA_TEST_SMTP_URL to run it)"
        );
        return;
    };
    let mailer = SmtpMailer::new(&url, "Tessera tests <tests@tessera.example>").unwrap();
    mailer
        .send(&message("smtp-test@tessera.example"))
        .await
        .unwrap();
}
