//! `uhub healthcheck`: asks the server of this host for `/readyz` over plain HTTP and says
//! whether it is ready. A container image has no curl; this is its `HEALTHCHECK`.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::time::Duration;

/// Connecting, writing and reading each give up after this long.
const TIMEOUT: Duration = Duration::from_secs(3);

/// The address to ask: the bound one, or loopback when uHub listens on every interface.
pub fn probe_address(bind: SocketAddr) -> SocketAddr {
    let ip = match bind.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        other => other,
    };
    SocketAddr::new(ip, bind.port())
}

/// `Ok` with the status line when `/readyz` answers 200; `Err` with what went wrong otherwise.
pub fn check(bind: SocketAddr) -> Result<String, String> {
    let address = probe_address(bind);
    let mut stream = TcpStream::connect_timeout(&address, TIMEOUT)
        .map_err(|e| format!("cannot connect to {address}: {e}"))?;
    stream
        .set_read_timeout(Some(TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(TIMEOUT)))
        .map_err(|e| format!("cannot set a timeout: {e}"))?;
    stream
        .write_all(
            b"GET /readyz HTTP/1.0\r\nHost: localhost\r\nUser-Agent: uhub-healthcheck\r\n\r\n",
        )
        .map_err(|e| format!("cannot send the request to {address}: {e}"))?;
    // The status line is all we need; a bounded read within one deadline keeps a confused or
    // slow peer from flooding or holding us.
    let deadline = std::time::Instant::now() + TIMEOUT;
    let mut head = [0u8; 512];
    let mut read = 0;
    while read < head.len() {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Err(format!("{address} did not answer within {TIMEOUT:?}"));
        }
        stream
            .set_read_timeout(Some(left))
            .map_err(|e| format!("cannot set a timeout: {e}"))?;
        match stream.read(&mut head[read..]) {
            Ok(0) => break,
            Ok(n) => {
                read += n;
                if head[..read].contains(&b'\n') {
                    break;
                }
            }
            Err(e) => return Err(format!("no answer from {address}: {e}")),
        }
    }
    let text = String::from_utf8_lossy(&head[..read]);
    let status_line = text.lines().next().unwrap_or_default().trim().to_owned();
    let code = status_line.split_whitespace().nth(1).unwrap_or_default();
    if code == "200" {
        Ok(status_line)
    } else if status_line.is_empty() {
        Err(format!("{address} closed the connection without answering"))
    } else {
        Err(format!("{address} answered `{status_line}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_interface_is_probed_on_loopback() -> Result<(), std::net::AddrParseError> {
        assert_eq!(
            probe_address("0.0.0.0:3000".parse()?),
            "127.0.0.1:3000".parse()?
        );
        assert_eq!(probe_address("[::]:8080".parse()?), "[::1]:8080".parse()?);
        assert_eq!(
            probe_address("10.1.2.3:3000".parse()?),
            "10.1.2.3:3000".parse()?
        );
        Ok(())
    }

    #[test]
    fn nothing_listening_is_a_failure_naming_the_address() -> Result<(), std::io::Error> {
        let free = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let error = check(free).err().unwrap_or_default();
        assert!(error.contains(&free.to_string()), "{error}");
        Ok(())
    }
}
