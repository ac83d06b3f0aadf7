//! E-mail through SMTP with `lettre`, to the relay in `BATON_SMTP_URL`, for
//! member notifications and for ticket replies to customers. The relay may
//! be plain SMTP, SMTP upgraded with STARTTLS, or TLS from the start
//! (`smtps://`), with AUTH credentials taken from the URL. The
//! `Message-ID` is made from the notification's or the reply's id, so a
//! mailbox or filter can drop the copy a retry after a crash sends again.

use std::fmt;
use std::time::{Duration, SystemTime};

use lettre::message::header::{ContentType, HeaderName, HeaderValue, MIME_VERSION_1_0};
use lettre::message::{Mailbox, MessageBuilder};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use url::{Host, Url};

use super::SEND_TIMEOUT;
use crate::store::{Outgoing, OutgoingMail};

/// How the connection to the relay is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Plain SMTP (`smtp://`, or `?tls=none`): for a relay on this host or
    /// a trusted network.
    Plain,
    /// STARTTLS when the relay offers it, plain SMTP when it does not
    /// (`?tls=opportunistic`).
    Opportunistic,
    /// STARTTLS, or nothing is sent (`?tls=starttls`): neither the
    /// credentials nor the mail ever cross in plain text.
    StartTls,
    /// TLS from the first byte (`smtps://`).
    Implicit,
}

/// AUTH credentials from the URL's user information, percent-decoded.
#[derive(Clone, PartialEq, Eq)]
pub struct Login {
    pub user: String,
    password: String,
}

impl Login {
    pub fn password(&self) -> &str {
        &self.password
    }
}

/// The password stays out of logs and panics, which print with `{:?}`.
impl fmt::Debug for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Login")
            .field("user", &self.user)
            .field("password", &"<hidden>")
            .finish()
    }
}

/// Where mail goes, how, and who it is from.
#[derive(Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub login: Option<Login>,
    pub from: Address,
    /// Built once from the fields above; each message opens its own
    /// connection with it, as there is no pool to keep one open.
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("login", &self.login)
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

/// Why `BATON_SMTP_URL` or `BATON_SMTP_FROM` was refused. The texts never
/// contain the URL's password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmtpConfigError {
    #[error("{0}")]
    Url(String),
    #[error("sender {0:?} is not an e-mail address")]
    Sender(String),
}

/// The default port of plain SMTP and STARTTLS (a relay's port 25).
const SMTP_PORT: u16 = 25;
/// The default port of `smtps://` (submissions, RFC 8314).
const SMTPS_PORT: u16 = 465;

impl SmtpConfig {
    /// Parse `smtp://[user:password@]host[:port][?tls=none|opportunistic|starttls]`
    /// (port 25 by default, plain unless `tls` says otherwise) or
    /// `smtps://[user:password@]host[:port]` (TLS, port 465 by default),
    /// and a sender address.
    pub fn parse(url: &str, from: &str) -> Result<Self, SmtpConfigError> {
        let url = Url::parse(url.trim())
            .map_err(|e| SmtpConfigError::Url(format!("is not a URL ({e})")))?;
        let (scheme, default_port) = scheme_of(&url).map_err(SmtpConfigError::Url)?;
        let host = host_of(&url).map_err(SmtpConfigError::Url)?;
        let security = security_of(&url, scheme).map_err(SmtpConfigError::Url)?;
        let port = url.port().unwrap_or(default_port);
        let login = login_of(&url).map_err(SmtpConfigError::Url)?;
        let from = from.trim();
        let from: Address = from
            .parse()
            .map_err(|_| SmtpConfigError::Sender(from.to_owned()))?;
        let transport = transport(&host, port, security, login.as_ref(), &from)
            .map_err(SmtpConfigError::Url)?;
        Ok(Self {
            host,
            port,
            security,
            login,
            from,
            transport,
        })
    }

    /// `url` with its password replaced, for error messages and logs.
    pub fn redact(url: &str) -> String {
        match Url::parse(url.trim()) {
            Ok(mut parsed) if parsed.password().is_some() => {
                // Only a URL that cannot have a password refuses one.
                let _ = parsed.set_password(Some("***"));
                parsed.to_string()
            }
            Ok(_) => url.to_owned(),
            // Unparsed, the user information is whatever lies between the
            // scheme and the last `@`: all of it goes.
            Err(_) => match (url.find("://"), url.rfind('@')) {
                (Some(start), Some(end)) if start + 3 <= end => {
                    format!("{}***{}", &url[..start + 3], &url[end..])
                }
                _ => url.to_owned(),
            },
        }
    }
}

/// The security the scheme asks for, and its default port.
fn scheme_of(url: &Url) -> Result<(Security, u16), String> {
    match url.scheme() {
        "smtp" => Ok((Security::Plain, SMTP_PORT)),
        "smtps" => Ok((Security::Implicit, SMTPS_PORT)),
        other => Err(format!("has the scheme {other:?}, not smtp or smtps")),
    }
}

/// The security the `tls` query key asks for over the scheme's. Anything
/// else in the URL beyond the host and port is refused by name rather than
/// ignored, so a typo does not silently send in plain text.
fn security_of(url: &Url, scheme: Security) -> Result<Security, String> {
    let mut security = scheme;
    let mut seen = false;
    for (key, value) in url.query_pairs() {
        match key.as_ref() {
            "tls" if seen => return Err("gives tls= twice".into()),
            "tls" if scheme == Security::Implicit => {
                return Err("is smtps://, TLS from the start: tls= is for smtp:// only".into());
            }
            "tls" => security = tls_mode(&value)?,
            other => {
                return Err(format!(
                    "has the unknown query key {other:?} (only tls= is known)"
                ));
            }
        }
        seen = true;
    }
    if !matches!(url.path(), "" | "/") {
        return Err(format!(
            "has the path {:?}; nothing may follow the port but ?tls=",
            url.path()
        ));
    }
    if url.fragment().is_some() {
        return Err("has a #fragment".into());
    }
    Ok(security)
}

fn tls_mode(value: &str) -> Result<Security, String> {
    match value {
        "none" => Ok(Security::Plain),
        "opportunistic" => Ok(Security::Opportunistic),
        "starttls" => Ok(Security::StartTls),
        other => Err(format!(
            "has tls={other:?}; it must be none, opportunistic or starttls"
        )),
    }
}

/// The host as a name or an address to connect to: an IPv6 literal loses
/// its brackets.
fn host_of(url: &Url) -> Result<String, String> {
    match url.host() {
        Some(Host::Domain(name)) if !name.is_empty() => Ok(name.to_owned()),
        Some(Host::Ipv4(ip)) => Ok(ip.to_string()),
        Some(Host::Ipv6(ip)) => Ok(ip.to_string()),
        _ => Err("names no host".into()),
    }
}

/// AUTH credentials from `user:password@`. A user without a password or
/// a password without a user is refused: either half alone cannot log in.
fn login_of(url: &Url) -> Result<Option<Login>, String> {
    let user = decode(url.username(), "user name")?;
    let password = url.password().map(|p| decode(p, "password")).transpose()?;
    match (user.is_empty(), password) {
        (true, None) => Ok(None),
        (true, Some(_)) => Err("has a password but no user name".into()),
        (false, None) => Err("has a user name but no password".into()),
        (false, Some(password)) => Ok(Some(Login { user, password })),
    }
}

/// Percent-decoded user information. The text is never quoted back: it
/// may be the password.
fn decode(text: &str, what: &str) -> Result<String, String> {
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .map(|decoded| decoded.into_owned())
        .map_err(|_| format!("has a {what} that is not UTF-8 once percent-decoded"))
}

/// The transport for these settings. One builder for every mode, the TLS
/// part set apart, so the four modes differ in that line only; the
/// certificate is checked against the host name as given.
fn transport(
    host: &str,
    port: u16,
    security: Security,
    login: Option<&Login>,
    from: &Address,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let tls = |host: &str| {
        TlsParameters::new(host.to_owned())
            .map_err(|e| format!("names the host {host:?}, which TLS cannot check ({e})"))
    };
    let tls = match security {
        Security::Plain => Tls::None,
        Security::Opportunistic => Tls::Opportunistic(tls(host)?),
        Security::StartTls => Tls::Required(tls(host)?),
        Security::Implicit => Tls::Wrapper(tls(host)?),
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(port)
        .tls(tls)
        .timeout(Some(SEND_TIMEOUT))
        // EHLO names the sender's domain, as a relay sees its own mail do.
        .hello_name(ClientId::Domain(from.domain().to_owned()));
    if let Some(login) = login {
        builder = builder.credentials(Credentials::new(login.user.clone(), login.password.clone()));
    }
    Ok(builder.build())
}

/// Why a message was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum SmtpError {
    #[error("recipient {0:?} is not a usable address")]
    Recipient(String),
    #[error("the message could not be built: {0}")]
    Message(#[from] lettre::error::Error),
    #[error("SMTP server {server} refused the message: {detail}")]
    Refused { server: String, detail: String },
    #[error("SMTP delivery to {server} failed: {detail}")]
    Failed { server: String, detail: String },
    #[error("SMTP exchange took longer than {0:?}")]
    Timeout(Duration),
}

impl SmtpError {
    /// A refusal carries the relay's code and text; anything else (no
    /// connection, TLS, AUTH) the whole chain of causes, as the outermost
    /// error alone rarely says which.
    fn from_transport(config: &SmtpConfig, error: lettre::transport::smtp::Error) -> Self {
        if error.is_timeout() {
            return Self::Timeout(SEND_TIMEOUT);
        }
        let server = format!("{}:{}", config.host, config.port);
        let detail = causes(&error);
        if error.status().is_some() {
            Self::Refused { server, detail }
        } else {
            Self::Failed { server, detail }
        }
    }
}

/// An error and its sources, each once: lettre's text already quotes the
/// first source.
fn causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        let more = inner.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = inner.source();
    }
    text
}

/// The `Message-ID` of a notification's e-mail.
pub fn message_id(notification: &crate::domain::NotificationId) -> String {
    format!("<{notification}@baton.notifications>")
}

/// A notification as a member receives it.
pub fn compose(config: &SmtpConfig, out: &Outgoing) -> Result<Message, SmtpError> {
    let n = &out.notification;
    let mut body = format!("{}\n\n", n.message);
    if let Some(conversation) = &n.conversation {
        body.push_str(&format!(
            "Open the conversation: /v1/conversations/{conversation}\n"
        ));
    }
    body.push_str(&format!(
        "\nYou get this because {} notifications are on for you by e-mail.\nNotification {}\n",
        n.kind, n.id
    ));
    let message = Message::builder()
        .from(Mailbox::new(Some("Baton".into()), config.from.clone()))
        .to(recipient(Some(&out.agent_name), &out.agent_email)?)
        .subject(one_line(&n.title))
        .date(system_time(n.created_at))
        .message_id(Some(message_id(&n.id)))
        .raw_header(baton_header("X-Baton-Event-Id", n.id.to_string()))
        .raw_header(baton_header(
            "X-Baton-Notification-Type",
            n.kind.to_string(),
        ));
    plain_text(message, body)
}

/// A ticket reply as the customer receives it: from the help desk (the
/// tenant's name), with the reply's Message-ID and, when it answers one of
/// the customer's e-mails, `In-Reply-To` and `References`, so mail clients
/// thread it and the customer's answer comes back to the ticket.
pub fn compose_reply(config: &SmtpConfig, mail: &OutgoingMail) -> Result<Message, SmtpError> {
    let mut builder = Message::builder()
        .from(Mailbox::new(
            Some(one_line(&mail.from_name)),
            config.from.clone(),
        ))
        .to(recipient(mail.to_name.as_deref(), &mail.to_address)?)
        .subject(one_line(&mail.subject))
        .date(system_time(mail.created_at))
        .message_id(Some(mail.email_message_id.clone()));
    if let Some(parent) = &mail.in_reply_to {
        builder = builder
            .in_reply_to(parent.clone())
            .references(parent.clone());
    }
    let builder = builder.raw_header(baton_header("X-Baton-Message-Id", mail.message.to_string()));
    plain_text(builder, mail.body.clone())
}

/// The message with a UTF-8 text body, its lines ending in CRLF. lettre
/// picks the transfer encoding: 7bit when the text allows it, else
/// quoted-printable or base64, so any relay takes it, 8BITMIME or not.
/// The body is the whole message rather than a MIME part, which would end
/// it with a blank line the text did not have.
fn plain_text(builder: MessageBuilder, text: String) -> Result<Message, SmtpError> {
    Ok(builder
        .header(MIME_VERSION_1_0)
        .header(ContentType::TEXT_PLAIN)
        .body(text)?)
}

/// The addressee, or [`SmtpError::Recipient`] for an address no relay
/// could take.
fn recipient(name: Option<&str>, address: &str) -> Result<Mailbox, SmtpError> {
    let parsed: Address = address
        .trim()
        .parse()
        .map_err(|_| SmtpError::Recipient(address.to_owned()))?;
    Ok(Mailbox::new(name.map(one_line), parsed))
}

/// One of Baton's own headers; its value is encoded by lettre like any.
fn baton_header(name: &'static str, value: String) -> HeaderValue {
    HeaderValue::new(HeaderName::new_from_ascii_str(name), value)
}

/// A name or subject on one line. lettre would encode a line break safely,
/// but a title a customer typed across lines reads better without it.
fn one_line(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect()
}

/// The `Date:` of a message: the server's clock when it was written,
/// within what the header can show (1970 to 9999).
fn system_time(at: crate::domain::Millis) -> SystemTime {
    const LAST: u64 = 253_402_300_799_000;
    let millis = u64::try_from(at.0).unwrap_or(0).min(LAST);
    SystemTime::UNIX_EPOCH + Duration::from_millis(millis)
}

/// Send one notification e-mail.
pub async fn send(config: &SmtpConfig, out: &Outgoing) -> Result<(), SmtpError> {
    deliver(config, compose(config, out)?).await
}

/// Send one ticket reply to its contact.
pub async fn send_reply(config: &SmtpConfig, mail: &OutgoingMail) -> Result<(), SmtpError> {
    deliver(config, compose_reply(config, mail)?).await
}

/// lettre's timeout bounds each step; this bounds the whole exchange, so
/// a relay that answers slowly step by step cannot hold the worker longer.
async fn deliver(config: &SmtpConfig, message: Message) -> Result<(), SmtpError> {
    match tokio::time::timeout(SEND_TIMEOUT, config.transport.send(message)).await {
        Err(_) => Err(SmtpError::Timeout(SEND_TIMEOUT)),
        Ok(Err(error)) => Err(SmtpError::from_transport(config, error)),
        Ok(Ok(_)) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FROM: &str = "baton@example.com";

    fn parse(url: &str) -> Result<SmtpConfig, SmtpConfigError> {
        SmtpConfig::parse(url, FROM)
    }

    fn refusal(url: &str) -> String {
        match parse(url) {
            Err(SmtpConfigError::Url(why)) => why,
            other => panic!("{url}: {other:?}"),
        }
    }

    #[test]
    fn smtp_urls_take_a_port_or_default_to_25_in_plain_text() {
        let c = parse("smtp://127.0.0.1:2525").unwrap();
        assert_eq!((c.host.as_str(), c.port), ("127.0.0.1", 2525));
        assert_eq!(c.security, Security::Plain);
        assert_eq!(c.login, None);
        let c = parse(" smtp://mail.example.com/ ").unwrap();
        assert_eq!((c.host.as_str(), c.port), ("mail.example.com", 25));
        let c = parse("smtp://[::1]:2525?tls=none").unwrap();
        assert_eq!((c.host.as_str(), c.security), ("::1", Security::Plain));
    }

    #[test]
    fn tls_comes_from_the_scheme_or_the_tls_key() {
        let c = parse("smtps://mail.example.com").unwrap();
        assert_eq!((c.port, c.security), (465, Security::Implicit));
        let c = parse("smtps://mail.example.com:2465").unwrap();
        assert_eq!(c.port, 2465);
        let c = parse("smtp://mail.example.com:587?tls=starttls").unwrap();
        assert_eq!((c.port, c.security), (587, Security::StartTls));
        let c = parse("smtp://mail.example.com?tls=opportunistic").unwrap();
        assert_eq!((c.port, c.security), (25, Security::Opportunistic));
    }

    #[test]
    fn credentials_are_percent_decoded() {
        let c = parse("smtp://ana%40desk:p%C3%A4ss%3Aw%2Frd@mail.example.com:587?tls=starttls")
            .unwrap();
        let login = c.login.expect("a login");
        assert_eq!(login.user, "ana@desk");
        assert_eq!(login.password(), "päss:w/rd");
    }

    #[test]
    fn debug_output_hides_the_password() {
        let c = parse("smtps://ana:hunter2@mail.example.com").unwrap();
        let shown = format!("{c:?}");
        assert!(shown.contains("ana"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
        let redacted = SmtpConfig::redact("smtps://ana:hunter2@mail.example.com");
        assert_eq!(redacted, "smtps://ana:***@mail.example.com");
        let unparsed = SmtpConfig::redact("smtp://ana:hunter2@mail.example.com:x");
        assert_eq!(unparsed, "smtp://***@mail.example.com:x");
    }

    #[test]
    fn refusals_name_what_is_wrong() {
        for (url, expected) in [
            ("smtp://mail.example.com?tls=yes", "tls=\"yes\""),
            (
                "smtp://mail.example.com?tsl=starttls",
                "unknown query key \"tsl\"",
            ),
            ("smtp://mail.example.com?tls=none&tls=starttls", "twice"),
            ("smtps://mail.example.com?tls=starttls", "smtp:// only"),
            ("smtp://mail.example.com:x", "port"),
            ("smtp://mail.example.com:70000", "port"),
            ("http://mail.example.com", "scheme \"http\""),
            ("smtp://", "no host"),
            ("smtp:mail.example.com", "no host"),
            ("mail.example.com:25", "scheme \"mail.example.com\""),
            ("smtp://mail.example.com/relay", "path"),
            ("smtp://ana@mail.example.com", "no password"),
            ("smtp://:secret@mail.example.com", "no user name"),
            (
                "smtp://ana:%FF@mail.example.com",
                "password that is not UTF-8",
            ),
        ] {
            let why = refusal(url);
            assert!(why.contains(expected), "{url}: {why}");
            assert!(!why.contains("secret"), "{url}: {why}");
        }
    }

    #[test]
    fn the_sender_must_be_an_address() {
        assert_eq!(
            SmtpConfig::parse("smtp://mail.example.com", "not an address").unwrap_err(),
            SmtpConfigError::Sender("not an address".into())
        );
        let c = SmtpConfig::parse("smtp://mail.example.com", " baton@localhost ").unwrap();
        assert_eq!(c.from.to_string(), "baton@localhost");
    }

    fn reply(subject: &str, in_reply_to: Option<&str>) -> OutgoingMail {
        OutgoingMail {
            id: 1,
            attempt: 1,
            message: crate::domain::MessageId::generate(),
            from_name: "Acme Support".into(),
            to_address: "kim@example.com".into(),
            to_name: Some("Kim".into()),
            subject: subject.into(),
            body: "Sorry.\n.Dot first\n".into(),
            email_message_id: "<r1@baton.example>".into(),
            in_reply_to: in_reply_to.map(str::to_owned),
            created_at: crate::domain::Millis(1_795_392_000_000),
        }
    }

    fn headers(message: &Message) -> String {
        let text = String::from_utf8(message.formatted()).unwrap();
        text.split("\r\n\r\n").next().unwrap().to_owned()
    }

    #[test]
    fn a_reply_carries_its_thread_and_date() {
        let config = parse("smtp://127.0.0.1:2525").unwrap();
        let mail = reply("Re: Broken invoice", Some("<m1@mail.example.com>"));
        let head = headers(&compose_reply(&config, &mail).unwrap());
        for line in [
            "From: \"Acme Support\" <baton@example.com>",
            "To: Kim <kim@example.com>",
            "Subject: Re: Broken invoice",
            "Date: Mon, 23 Nov 2026 00:00:00 +0000",
            "Message-ID: <r1@baton.example>",
            "In-Reply-To: <m1@mail.example.com>",
            "References: <m1@mail.example.com>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: 7bit",
        ] {
            assert!(head.lines().any(|l| l == line), "{line} in\n{head}");
        }
        let first = headers(&compose_reply(&config, &reply("Hi", None)).unwrap());
        assert!(!first.contains("In-Reply-To"), "{first}");
    }

    #[test]
    fn the_body_is_the_text_with_crlf_line_ends_encoded_only_when_needed() {
        let config = parse("smtp://127.0.0.1:2525").unwrap();
        let text = String::from_utf8(
            compose_reply(&config, &reply("Hi", None))
                .unwrap()
                .formatted(),
        )
        .unwrap();
        let body = text.split_once("\r\n\r\n").unwrap().1;
        assert_eq!(body, "Sorry.\r\n.Dot first\r\n");
        let mut mail = reply("Hi", None);
        mail.body = "Grüße aus Köln\n".into();
        let encoded = headers(&compose_reply(&config, &mail).unwrap());
        assert!(
            encoded.contains("Content-Transfer-Encoding: quoted-printable")
                || encoded.contains("Content-Transfer-Encoding: base64"),
            "{encoded}"
        );
    }

    #[test]
    fn headers_cannot_be_injected_and_utf8_is_encoded() {
        let config = parse("smtp://127.0.0.1:2525").unwrap();
        let head = headers(&compose_reply(&config, &reply("Hi\r\nBcc: x", None)).unwrap());
        assert!(head.lines().any(|l| l == "Subject: HiBcc: x"), "{head}");
        assert!(!head.lines().any(|l| l.starts_with("Bcc")), "{head}");
        let head = headers(&compose_reply(&config, &reply("返金", None)).unwrap());
        assert!(head.contains("Subject: =?utf-8?b?"), "{head}");
    }

    #[test]
    fn an_unusable_recipient_is_named() {
        let config = parse("smtp://127.0.0.1:2525").unwrap();
        let mut mail = reply("Hi", None);
        mail.to_address = "kim at example".into();
        assert!(matches!(
            compose_reply(&config, &mail),
            Err(SmtpError::Recipient(address)) if address == "kim at example"
        ));
    }
}
