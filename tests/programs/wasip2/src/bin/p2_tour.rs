//! A tour of WASI 0.2 through Rust's std, driven by its first argument:
//! - `args`: prints each argument and the environment variables, sorted;
//! - `stdin`: copies standard input to standard output in upper case;
//! - `files DIR`: writes, appends, reads, seeks, truncates, renames, lists and removes files in
//!   DIR;
//! - `readonly DIR`: tries to create a file in DIR and reports the error kind;
//! - `escape DIR`: tries `DIR/../x`, an absolute path and a symlink out of DIR;
//! - `clocks`: reads the clocks and random bytes, printing only checks;
//! - `exit N`: exits with code N; `fail`: returns an error from main;
//! - `echo`: listens on 127.0.0.1 (a port the host picks), connects to itself, sends a line and
//!   reads it back through the accepted connection; a refused step prints its error kind to
//!   stderr and exits with a failure (WASI 0.2's `exit` carries no code: the host reports 1);
//! - `udp`: sends a datagram between two sockets on 127.0.0.1 and back (a failure if refused);
//! - `lookup NAME`: resolves NAME and prints whether it found an address (a failure if refused).
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize| args.get(i).cloned().unwrap_or_default();
    match arg(1).as_str() {
        "args" => {
            for (i, a) in args.iter().enumerate() {
                println!("arg {i}: {a}");
            }
            let mut vars: Vec<(String, String)> = std::env::vars().collect();
            vars.sort();
            for (k, v) in vars {
                println!("env {k}={v}");
            }
            eprintln!("to stderr");
        }
        "stdin" => {
            let mut input = String::new();
            std::io::stdin().read_to_string(&mut input).map_err(|e| e.to_string())?;
            print!("{}", input.to_uppercase());
        }
        "files" => files(&arg(2)).map_err(|e| format!("files: {e}"))?,
        "readonly" => {
            let path = format!("{}/new.txt", arg(2));
            match std::fs::write(&path, "x") {
                Ok(()) => println!("created {path}"),
                Err(e) => println!("create refused: {:?}", e.kind()),
            }
            match std::fs::read_to_string(format!("{}/existing.txt", arg(2))) {
                Ok(s) => println!("read: {s}"),
                Err(e) => println!("read failed: {:?}", e.kind()),
            }
        }
        "escape" => {
            let dir = arg(2);
            for path in [format!("{dir}/../outside.txt"), "/etc/passwd".into(), format!("{dir}/link/outside.txt")] {
                match std::fs::read_to_string(&path) {
                    Ok(s) => println!("{path}: READ {} bytes", s.len()),
                    Err(e) => println!("{path}: denied ({:?})", e.kind()),
                }
            }
        }
        "clocks" => {
            let start = std::time::Instant::now();
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_err(|e| e.to_string())?;
            println!("wall clock after 2020: {}", now.as_secs() > 1_577_836_800);
            std::thread::sleep(std::time::Duration::from_millis(20));
            println!("slept at least 20ms: {}", start.elapsed().as_millis() >= 20);
            let mut map = std::collections::HashMap::new();
            map.insert(1, 2);
            println!("hash map seeded: {}", map.len());
        }
        "exit" => std::process::exit(arg(2).parse().unwrap_or(2)),
        "fail" => return Err("failing on purpose".into()),
        "echo" => echo(),
        "udp" => udp(),
        "lookup" => match (arg(2).as_str(), 80).to_socket_addrs() {
            Ok(mut found) => println!("resolved: {}", found.next().is_some()),
            Err(e) => refused("lookup", e),
        },
        "panic" => panic!("panicking on purpose"),
        other => return Err(format!("unknown command {other:?}")),
    }
    std::io::stdout().flush().map_err(|e| e.to_string())
}

fn files(dir: &str) -> std::io::Result<()> {
    let path = format!("{dir}/a.txt");
    std::fs::write(&path, "hello")?;
    let mut f = std::fs::OpenOptions::new().append(true).open(&path)?;
    f.write_all(b", world")?;
    drop(f);
    println!("read: {}", std::fs::read_to_string(&path)?);
    println!("size: {}", std::fs::metadata(&path)?.len());
    let mut f = std::fs::OpenOptions::new().read(true).write(true).open(&path)?;
    f.seek(SeekFrom::Start(7))?;
    let mut tail = String::new();
    f.read_to_string(&mut tail)?;
    println!("after seek: {tail}");
    f.set_len(5)?;
    drop(f);
    println!("truncated: {}", std::fs::read_to_string(&path)?);
    println!("is file: {}", std::fs::metadata(&path)?.is_file());
    match std::fs::metadata(format!("{dir}/missing.txt")) {
        Ok(_) => println!("missing exists"),
        Err(e) => println!("missing: {:?}", e.kind()),
    }
    std::fs::create_dir(format!("{dir}/sub"))?;
    std::fs::rename(&path, format!("{dir}/sub/b.txt"))?;
    match std::fs::read_to_string(&path) {
        Ok(_) => println!("old name still there"),
        Err(e) => println!("old name: {:?}", e.kind()),
    }
    let mut names: Vec<String> = std::fs::read_dir(format!("{dir}/sub"))?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()?;
    names.sort();
    println!("sub: {names:?}");
    match std::fs::create_dir(format!("{dir}/sub")) {
        Ok(()) => println!("created sub twice"),
        Err(e) => println!("create existing: {:?}", e.kind()),
    }
    std::fs::remove_file(format!("{dir}/sub/b.txt"))?;
    std::fs::remove_dir(format!("{dir}/sub"))?;
    println!("removed: {}", !std::path::Path::new(&format!("{dir}/sub")).exists());
    Ok(())
}

/// Reports a refused network step and exits with a failure.
fn refused(step: &str, error: std::io::Error) -> ! {
    eprintln!("echo: {step} refused: {:?}", error.kind());
    std::process::exit(3)
}

/// A TCP echo over loopback within one program: listener, client and accepted connection.
fn echo() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| refused("bind", e));
    let address = listener.local_addr().unwrap_or_else(|e| refused("local-address", e));
    let mut client = TcpStream::connect(address).unwrap_or_else(|e| refused("connect", e));
    let (mut server, peer) = listener.accept().unwrap_or_else(|e| refused("accept", e));
    let message = b"hello over loopback\n";
    client.write_all(message).unwrap_or_else(|e| refused("client write", e));
    let mut received = vec![0; message.len()];
    server.read_exact(&mut received).unwrap_or_else(|e| refused("server read", e));
    server.write_all(&received).unwrap_or_else(|e| refused("server write", e));
    server.shutdown(std::net::Shutdown::Write).unwrap_or_else(|e| refused("shutdown", e));
    let mut echoed = String::new();
    client.read_to_string(&mut echoed).unwrap_or_else(|e| refused("client read", e));
    println!("peer is loopback: {}", peer.ip().is_loopback());
    print!("echo: {echoed}");
}

/// A UDP round trip over loopback between two sockets of the program.
fn udp() {
    let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| refused("udp bind", e));
    let client = std::net::UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| refused("udp bind", e));
    let server_address = server.local_addr().unwrap_or_else(|e| refused("udp local-address", e));
    client
        .send_to(b"ping", server_address)
        .unwrap_or_else(|e| refused("udp send", e));
    let mut buffer = [0; 16];
    let (n, from) = server.recv_from(&mut buffer).unwrap_or_else(|e| refused("udp receive", e));
    server
        .send_to(&buffer[..n], from)
        .unwrap_or_else(|e| refused("udp send back", e));
    let (n, _) = client.recv_from(&mut buffer).unwrap_or_else(|e| refused("udp receive back", e));
    println!("udp: {}", String::from_utf8_lossy(&buffer[..n]));
}
