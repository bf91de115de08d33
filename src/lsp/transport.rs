//! The stdio transport: frames (`Content-Length` headers, then a JSON-RPC body) read with caps and
//! handed to the server over `lsp_server`'s in-memory connection, and the server's messages framed
//! onto stdout. `lsp-server`'s own stdio transport allocates whatever length a header declares
//! (10 GB, or a panic at 2^64-1) and stops at the first malformed frame; this one reads at most
//! [`MAX_BODY`] bytes a message and answers a bad frame with a JSON-RPC error, then goes on.

use std::io::{self, BufRead, Read, Write};
use std::sync::{Arc, Mutex};

use lsp_server::{Connection, Message};
use serde_json::{Value, json};

/// The largest message body read: far above any document an editor sends.
pub const MAX_BODY: u64 = 64 << 20;
/// The longest header line read.
const MAX_HEADER_LINE: u64 = 4096;

/// JSON-RPC's error codes for a body that is not JSON, and for JSON that is not a message.
const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;

/// What one frame of the input holds.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    Body(Vec<u8>),
    /// A frame that cannot be a message, and why; the stream goes on after it.
    Bad(String),
    /// The input ended.
    End,
}

/// Reads one frame: its header lines up to a blank line, then as many bytes as `Content-Length`
/// says (a body over [`MAX_BODY`] is skipped, never stored).
pub fn read_frame(input: &mut impl BufRead) -> io::Result<Frame> {
    let mut length: Option<Result<u64, String>> = None;
    let mut bad = None;
    loop {
        let mut line = Vec::new();
        input.take(MAX_HEADER_LINE).read_until(b'\n', &mut line)?;
        if line.is_empty() {
            return Ok(Frame::End);
        }
        if line.last() != Some(&b'\n') {
            if line.len() as u64 >= MAX_HEADER_LINE {
                skip_line(input)?;
                bad.get_or_insert_with(|| "a header line over 4096 bytes".to_string());
                continue;
            }
            return Ok(Frame::End);
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            break;
        }
        match text.split_once(':') {
            Some((name, value)) if name.eq_ignore_ascii_case("Content-Length") => {
                let value = value.trim();
                length = Some(value.parse::<u64>().map_err(|_| {
                    format!("Content-Length `{}` is not a number", value.escape_debug())
                }));
            }
            Some(_) => {}
            None => {
                bad.get_or_insert_with(|| format!("malformed header `{}`", text.escape_debug()));
            }
        }
    }
    let length = match length {
        None => {
            return Ok(Frame::Bad(
                bad.unwrap_or_else(|| "no Content-Length".into()),
            ));
        }
        Some(Err(why)) => return Ok(Frame::Bad(why)),
        Some(Ok(length)) => length,
    };
    if length > MAX_BODY {
        let skipped = io::copy(&mut input.take(length), &mut io::sink())?;
        if skipped < length {
            return Ok(Frame::End);
        }
        return Ok(Frame::Bad(format!(
            "a message of {length} bytes, more than the {MAX_BODY} the server reads"
        )));
    }
    let mut body = Vec::with_capacity(length as usize);
    input.take(length).read_to_end(&mut body)?;
    if (body.len() as u64) < length {
        return Ok(Frame::End);
    }
    Ok(match bad {
        Some(why) => Frame::Bad(why),
        None => Frame::Body(body),
    })
}

/// Drops input up to and including the next line break.
fn skip_line(input: &mut impl BufRead) -> io::Result<()> {
    loop {
        let buf = input.fill_buf()?;
        if buf.is_empty() {
            return Ok(());
        }
        match buf.iter().position(|&b| b == b'\n') {
            Some(i) => {
                input.consume(i + 1);
                return Ok(());
            }
            None => {
                let n = buf.len();
                input.consume(n);
            }
        }
    }
}

/// A frame's body as a message, or the JSON-RPC error that answers it.
pub fn parse(body: &[u8]) -> Result<Message, Value> {
    let error = |id: Value, code: i64, message: String| json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": message } });
    let text = std::str::from_utf8(body).map_err(|e| {
        error(
            Value::Null,
            PARSE_ERROR,
            format!("the body is not UTF-8: {e}"),
        )
    })?;
    let value: Value = serde_json::from_str(text).map_err(|e| {
        error(
            Value::Null,
            PARSE_ERROR,
            format!("the body is not JSON: {e}"),
        )
    })?;
    let id = value.get("id").cloned().unwrap_or(Value::Null);
    serde_json::from_value(value)
        .map_err(|e| error(id, INVALID_REQUEST, format!("not a JSON-RPC message: {e}")))
}

fn write_frame(out: &Mutex<io::Stdout>, body: &[u8]) -> io::Result<()> {
    let mut out = crate::lock(out);
    write!(out, "Content-Length: {}\r\n\r\n", body.len())?;
    out.write_all(body)?;
    out.flush()
}

/// Serves one client on stdin and stdout until `exit` or the end of the input; returns the exit
/// code [`super::serve`] gives.
pub fn run(
    serve: impl FnOnce(Connection) -> Result<i32, super::Error>,
) -> Result<i32, super::Error> {
    let (server, client) = Connection::memory();
    let stdout = Arc::new(Mutex::new(io::stdout()));
    let out = stdout.clone();
    let writer = std::thread::spawn(move || {
        for message in client.receiver {
            message.write(&mut *crate::lock(&out))?;
        }
        io::Result::Ok(())
    });
    let to_server = client.sender;
    // The reader blocks on stdin; it ends with the input or after `exit`, and is not waited for.
    std::thread::spawn(move || {
        let mut input = io::stdin().lock();
        loop {
            let message = match read_frame(&mut input) {
                Ok(Frame::Body(body)) => parse(&body),
                Ok(Frame::Bad(why)) => Err(json!({ "jsonrpc": "2.0", "id": null,
                    "error": { "code": PARSE_ERROR, "message": format!("bad frame: {why}") } })),
                Ok(Frame::End) | Err(_) => return,
            };
            match message {
                Ok(message) => {
                    let exit = matches!(&message, Message::Notification(n) if n.method == "exit");
                    if to_server.send(message).is_err() || exit {
                        return;
                    }
                }
                Err(reply) => {
                    let reply = serde_json::to_vec(&reply).unwrap_or_default();
                    if write_frame(&stdout, &reply).is_err() {
                        return;
                    }
                }
            }
        }
    });
    let code = serve(server)?;
    writer
        .join()
        .map_err(|_| "the writer thread panicked")?
        .map_err(Box::new)?;
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &[u8]) -> Vec<Frame> {
        let mut reader = io::BufReader::new(input);
        let mut out = Vec::new();
        loop {
            let frame = read_frame(&mut reader).unwrap();
            let end = frame == Frame::End;
            out.push(frame);
            if end {
                return out;
            }
        }
    }

    #[test]
    fn bad_frames_are_reported_and_the_stream_goes_on() {
        let ok = b"Content-Length: 2\r\n\r\n{}";
        let mut input = Vec::new();
        input.extend(b"Content-Length: 18446744073709551615\r\n\r\n");
        input.extend(b"Content-Length: x\r\n\r\n");
        input.extend(ok);
        input.extend(b"Content-Length: 99999999999\r\n\r\n");
        let got = frames(&input);
        // The huge frames skip to the end of the input: it is shorter than they say.
        assert_eq!(got, [Frame::End]);
        let mut input = Vec::new();
        input.extend(b"Content-Length: x\r\n\r\n");
        input.extend(ok);
        input.extend(b"Content-Length: 67108865\r\n\r\n");
        input.extend(vec![b' '; 67108865]);
        input.extend(ok);
        let got = frames(&input);
        assert!(matches!(&got[0], Frame::Bad(why) if why.contains("not a number")));
        assert_eq!(got[1], Frame::Body(b"{}".to_vec()));
        assert!(matches!(&got[2], Frame::Bad(why) if why.contains("more than")));
        assert_eq!(got[3], Frame::Body(b"{}".to_vec()));
        assert!(parse(b"\xff\xfe").unwrap_err()["error"]["code"] == PARSE_ERROR);
        let not_a_message = parse(b"{\"id\": 3, \"x\": 1}").unwrap_err();
        assert_eq!(not_a_message["id"], 3);
        assert_eq!(not_a_message["error"]["code"], INVALID_REQUEST);
    }
}
