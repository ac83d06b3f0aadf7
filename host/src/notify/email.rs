//! E-mail through SMTP: a small client speaking plain SMTP (EHLO or HELO,
//! MAIL, RCPT, DATA, QUIT) to the relay in `BATON_SMTP_URL`, for member
//! notifications and for ticket replies to customers. The `Message-ID` is
//! made from the notification's or the reply's id, so a mailbox or filter
//! can drop the copy a retry after a crash sends again.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::SEND_TIMEOUT;
use crate::store::{Outgoing, OutgoingMail};

/// Where mail goes, and who it is from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub from: String,
}

impl SmtpConfig {
    /// Parse `smtp://host[:port]` (port 25 by default) and a sender address.
    pub fn parse(url: &str, from: &str) -> Result<Self, String> {
        let rest = url
            .trim()
            .strip_prefix("smtp://")
            .ok_or("must be an smtp://host:port URL (STARTTLS and smtps are not supported)")?;
        let authority = rest.trim_end_matches('/');
        if authority.is_empty() || authority.contains(['/', '@', '?', '#']) {
            return Err("must be an smtp://host:port URL with nothing after the port".into());
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => (
                host,
                port.parse::<u16>()
                    .map_err(|_| format!("{port:?} is not a port number"))?,
            ),
            _ => (authority, 25),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err("names no host".into());
        }
        let from = from.trim();
        if !valid_address(from) {
            return Err(format!("sender {from:?} is not an e-mail address"));
        }
        Ok(Self {
            host: host.to_owned(),
            port,
            from: from.to_owned(),
        })
    }
}

/// Good enough for an SMTP envelope: `local@domain`, no spaces or brackets.
fn valid_address(address: &str) -> bool {
    match address.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !address
                    .contains(|c: char| c.is_whitespace() || c.is_control() || "<>".contains(c))
        }
        None => false,
    }
}

/// Why a message was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum SmtpError {
    #[error("SMTP connection to {0} failed: {1}")]
    Connect(String, std::io::Error),
    #[error("SMTP I/O failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("SMTP server answered {code} to {command}: {text}")]
    Refused {
        command: &'static str,
        code: u16,
        text: String,
    },
    #[error("SMTP server sent a malformed reply: {0:?}")]
    Malformed(String),
    #[error("SMTP exchange took longer than {0:?}")]
    Timeout(Duration),
    #[error("recipient {0:?} is not a usable address")]
    Recipient(String),
}

/// The `Message-ID` of a notification's e-mail.
pub fn message_id(notification: &crate::domain::NotificationId) -> String {
    format!("<{notification}@baton.notifications>")
}

/// The message as sent: headers, a blank line, the body, CRLF line ends.
pub fn compose(config: &SmtpConfig, out: &Outgoing, date: &str) -> String {
    let n = &out.notification;
    let link = n
        .conversation
        .as_ref()
        .map(|c| format!("/v1/conversations/{c}"));
    let mut body = String::new();
    body.push_str(&n.message);
    body.push_str("\n\n");
    if let Some(link) = &link {
        body.push_str(&format!("Open the conversation: {link}\n"));
    }
    body.push_str(&format!(
        "\nYou get this because {} notifications are on for you by e-mail.\nNotification {}\n",
        n.kind, n.id
    ));
    let headers = [
        format!("From: Baton <{}>", config.from),
        format!("To: {} <{}>", header_text(&out.agent_name), out.agent_email),
        format!("Subject: {}", header_text(&n.title)),
        format!("Date: {date}"),
        format!("Message-ID: {}", message_id(&n.id)),
        format!("X-Baton-Event-Id: {}", n.id),
        format!("X-Baton-Notification-Type: {}", n.kind),
        "MIME-Version: 1.0".to_owned(),
        "Content-Type: text/plain; charset=utf-8".to_owned(),
        "Content-Transfer-Encoding: 8bit".to_owned(),
    ];
    assemble(&headers, &body)
}

/// A ticket reply as the customer receives it: from the help desk (the
/// tenant's name), with the reply's Message-ID and, when it answers one of
/// the customer's e-mails, `In-Reply-To` and `References`, so mail clients
/// thread it and the customer's answer comes back to the ticket.
pub fn compose_reply(config: &SmtpConfig, mail: &OutgoingMail, date: &str) -> String {
    let to = match &mail.to_name {
        Some(name) => format!("{} <{}>", header_text(name), mail.to_address),
        None => format!("<{}>", mail.to_address),
    };
    let mut headers = vec![
        format!("From: {} <{}>", header_text(&mail.from_name), config.from),
        format!("To: {to}"),
        format!("Subject: {}", header_text(&mail.subject)),
        format!("Date: {date}"),
        format!("Message-ID: {}", mail.email_message_id),
    ];
    if let Some(parent) = &mail.in_reply_to {
        headers.push(format!("In-Reply-To: {parent}"));
        headers.push(format!("References: {parent}"));
    }
    headers.extend([
        format!("X-Baton-Message-Id: {}", mail.message),
        "MIME-Version: 1.0".to_owned(),
        "Content-Type: text/plain; charset=utf-8".to_owned(),
        "Content-Transfer-Encoding: 8bit".to_owned(),
    ]);
    assemble(&headers, &mail.body)
}

/// Headers, a blank line, then the body with CRLF line ends.
fn assemble(headers: &[String], body: &str) -> String {
    let mut message = headers.join("\r\n");
    message.push_str("\r\n\r\n");
    for line in body.lines() {
        // Dot-stuffing: a line starting with "." would otherwise end DATA early.
        if line.starts_with('.') {
            message.push('.');
        }
        message.push_str(line);
        message.push_str("\r\n");
    }
    message
}

/// A header value on one line: UTF-8 text is encoded (RFC 2047), control
/// characters and line breaks dropped so nothing can add a header.
fn header_text(text: &str) -> String {
    let clean: String = text.chars().filter(|c| !c.is_control()).collect();
    if clean.is_ascii() {
        clean
    } else {
        format!("=?utf-8?b?{}?=", base64(clean.as_bytes()))
    }
}

fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Send one notification e-mail.
pub async fn send(config: &SmtpConfig, out: &Outgoing) -> Result<(), SmtpError> {
    if !valid_address(&out.agent_email) {
        return Err(SmtpError::Recipient(out.agent_email.clone()));
    }
    let date = rfc2822(out.notification.created_at);
    let message = compose(config, out, &date);
    deliver(config, &out.agent_email, &message).await
}

/// Send one ticket reply to its contact.
pub async fn send_reply(config: &SmtpConfig, mail: &OutgoingMail) -> Result<(), SmtpError> {
    if !valid_address(&mail.to_address) {
        return Err(SmtpError::Recipient(mail.to_address.clone()));
    }
    let date = rfc2822(mail.created_at);
    let message = compose_reply(config, mail, &date);
    deliver(config, &mail.to_address, &message).await
}

async fn deliver(config: &SmtpConfig, to: &str, message: &str) -> Result<(), SmtpError> {
    tokio::time::timeout(SEND_TIMEOUT, exchange(config, to, message))
        .await
        .map_err(|_| SmtpError::Timeout(SEND_TIMEOUT))?
}

async fn exchange(config: &SmtpConfig, to: &str, message: &str) -> Result<(), SmtpError> {
    let address = format!("{}:{}", config.host, config.port);
    let stream = TcpStream::connect(&address)
        .await
        .map_err(|e| SmtpError::Connect(address.clone(), e))?;
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    expect(&mut read, "the greeting", 220).await?;
    let hello = hostname(&config.from);
    write
        .write_all(format!("EHLO {hello}\r\n").as_bytes())
        .await?;
    if reply(&mut read).await?.0 != 250 {
        // An old server: plain HELO.
        write
            .write_all(format!("HELO {hello}\r\n").as_bytes())
            .await?;
        expect(&mut read, "HELO", 250).await?;
    }
    write
        .write_all(format!("MAIL FROM:<{}>\r\n", config.from).as_bytes())
        .await?;
    expect(&mut read, "MAIL FROM", 250).await?;
    write
        .write_all(format!("RCPT TO:<{to}>\r\n").as_bytes())
        .await?;
    let (code, text) = reply(&mut read).await?;
    if code != 250 && code != 251 {
        return Err(SmtpError::Refused {
            command: "RCPT TO",
            code,
            text,
        });
    }
    write.write_all(b"DATA\r\n").await?;
    expect(&mut read, "DATA", 354).await?;
    write.write_all(message.as_bytes()).await?;
    write.write_all(b".\r\n").await?;
    expect(&mut read, "the message", 250).await?;
    // The message is accepted; a failed QUIT changes nothing.
    let _ = write.write_all(b"QUIT\r\n").await;
    let _ = reply(&mut read).await;
    Ok(())
}

/// The domain of the sender, for EHLO.
fn hostname(from: &str) -> &str {
    from.rsplit_once('@')
        .map(|(_, d)| d)
        .filter(|d| !d.is_empty())
        .unwrap_or("localhost")
}

async fn expect<R: AsyncBufReadExt + Unpin>(
    read: &mut R,
    command: &'static str,
    wanted: u16,
) -> Result<(), SmtpError> {
    let (code, text) = reply(read).await?;
    if code == wanted {
        Ok(())
    } else {
        Err(SmtpError::Refused {
            command,
            code,
            text,
        })
    }
}

/// Read one reply, multi-line ones (`250-...`) included.
async fn reply<R: AsyncBufReadExt + Unpin>(read: &mut R) -> Result<(u16, String), SmtpError> {
    let mut text = String::new();
    loop {
        let mut line = String::new();
        if read.read_line(&mut line).await? == 0 {
            return Err(SmtpError::Malformed("the connection closed".into()));
        }
        let line = line.trim_end();
        let code = line
            .get(..3)
            .and_then(|c| c.parse::<u16>().ok())
            .ok_or_else(|| SmtpError::Malformed(line.to_owned()))?;
        text.push_str(line.get(4..).unwrap_or_default());
        if line.as_bytes().get(3) != Some(&b'-') {
            return Ok((code, text));
        }
        text.push(' ');
    }
}

/// A `Date:` header value in UTC (RFC 5322).
fn rfc2822(at: crate::domain::Millis) -> String {
    match jiff::Timestamp::from_millisecond(at.0) {
        Ok(ts) => ts.strftime("%a, %d %b %Y %H:%M:%S +0000").to_string(),
        Err(_) => "Thu, 01 Jan 1970 00:00:00 +0000".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_parse_with_a_default_port() {
        let c = SmtpConfig::parse("smtp://127.0.0.1:2525", "baton@example.com").unwrap();
        assert_eq!((c.host.as_str(), c.port), ("127.0.0.1", 2525));
        let c = SmtpConfig::parse("smtp://mail.example.com", "baton@example.com").unwrap();
        assert_eq!(c.port, 25);
        assert!(SmtpConfig::parse("smtps://mail.example.com", "baton@example.com").is_err());
        assert!(SmtpConfig::parse("smtp://mail.example.com:x", "baton@example.com").is_err());
        assert!(SmtpConfig::parse("smtp://mail.example.com", "not an address").is_err());
    }

    #[test]
    fn base64_and_header_encoding() {
        assert_eq!(base64(b"Man"), "TWFu");
        assert_eq!(base64(b"Ma"), "TWE=");
        assert_eq!(base64(b"M"), "TQ==");
        assert_eq!(header_text("Hi\r\nBcc: x"), "HiBcc: x");
        assert_eq!(header_text("返金"), "=?utf-8?b?6L+U6YeR?=");
    }

    #[test]
    fn dates_are_rfc_5322() {
        assert_eq!(
            rfc2822(crate::domain::Millis(1_795_392_000_000)),
            "Mon, 23 Nov 2026 00:00:00 +0000"
        );
    }
}
