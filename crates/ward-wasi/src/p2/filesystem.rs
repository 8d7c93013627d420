//! `wasi:filesystem/{types,preopens}`: descriptors are preview1 descriptors (the representation is
//! the descriptor number) and every method is the preview1 syscall that does the same, called on
//! a scratch memory (`scratch`), so paths resolve beneath the preopen with cap-std and read-only
//! preopens refuse every change, exactly as for modules. Failures are `error-code`s, never traps.
//! Used by `p2::add_to_linker`.

use std::collections::VecDeque;

use ward::component::{HostResource, Linker, Val};

use super::cli::datetime;
use super::scratch::{self, FILESTAT, u32_at, u64_at};
use super::state::{Resource, StreamAt};
use super::{
    Host, Types, arg_bytes, arg_flags, arg_rep, arg_str, arg_u64, bytes_val, err, error_code,
    interface, ok,
};
use crate::abi::{Snapshot, filetype, oflags, rights};
use crate::ctx::{WasiCtx, WasiState};
use crate::errno::{Errno, WasiResult};

/// Most bytes one `read` of a descriptor returns.
const MAX_READ: u64 = 1 << 24;

/// A file-system method: the descriptor's representation and the other arguments, to a value or
/// an errno (which becomes the `error-code`).
type Method = fn(&mut WasiState, u32, &[Val], &Types) -> ward::Result<WasiResult<Option<Val>>>;

pub(super) fn define<T: 'static, G>(host: &Host<G>, linker: &mut Linker<T>, types: &Types)
where
    G: Fn(&mut T) -> &mut WasiCtx + Copy + Send + Sync + 'static,
{
    let mut fs = linker.instance(&interface("wasi:filesystem/types"));
    fs.define_resource("input-stream", &types.input);
    fs.define_resource("output-stream", &types.output);
    fs.define_resource("error", &types.error);
    let methods: [(&str, Method); 27] = [
        ("read-via-stream", |ctx, fd, params, t| {
            let offset = arg_u64(params, 1)?;
            stream(
                ctx,
                &t.input,
                Resource::Input {
                    fd,
                    at: StreamAt::Offset(offset),
                },
            )
        }),
        ("write-via-stream", |ctx, fd, params, t| {
            let offset = arg_u64(params, 1)?;
            stream(
                ctx,
                &t.output,
                Resource::Output {
                    fd,
                    at: StreamAt::Offset(offset),
                },
            )
        }),
        ("append-via-stream", |ctx, fd, _, t| {
            stream(
                ctx,
                &t.output,
                Resource::Output {
                    fd,
                    at: StreamAt::Append,
                },
            )
        }),
        ("advise", |ctx, fd, params, _| {
            let (offset, len) = (arg_u64(params, 1)?, arg_u64(params, 2)?);
            let advice = match params.get(3) {
                Some(Val::Enum(name)) => ADVICE.iter().position(|a| a == name).unwrap_or(0) as u8,
                _ => 0,
            };
            Ok(crate::fs::fd_advise(ctx, fd, offset, len, advice).map(|()| None))
        }),
        ("sync-data", |ctx, fd, _, _| {
            Ok(crate::fs::fd_sync(ctx, fd, true).map(|()| None))
        }),
        ("sync", |ctx, fd, _, _| {
            Ok(crate::fs::fd_sync(ctx, fd, false).map(|()| None))
        }),
        ("get-flags", |ctx, fd, _, _| {
            Ok(fdstat(ctx, fd).map(|(_, base)| Some(flags_of(base))))
        }),
        ("get-type", |ctx, fd, _, _| {
            Ok(fdstat(ctx, fd).map(|(ty, _)| Some(descriptor_type(ty))))
        }),
        ("set-size", |ctx, fd, params, _| {
            let size = arg_u64(params, 1)?;
            Ok(crate::fs::fd_filestat_set_size(ctx, fd, size).map(|()| None))
        }),
        ("set-times", |ctx, fd, params, _| {
            let (atim, mtim, flags) = new_times(params, 1)?;
            Ok(crate::fs::fd_filestat_set_times(ctx, fd, atim, mtim, flags).map(|()| None))
        }),
        ("read", |ctx, fd, params, _| {
            let len = arg_u64(params, 1)?.min(MAX_READ) as u32;
            let offset = arg_u64(params, 2)?;
            Ok(scratch::read(ctx, fd, len, Some(offset)).map(|bytes| {
                let end = bytes.len() < len as usize;
                Some(Val::Tuple(vec![bytes_val(bytes), Val::Bool(end)]))
            }))
        }),
        ("write", |ctx, fd, params, _| {
            let data = arg_bytes(params, 1)?;
            let offset = arg_u64(params, 2)?;
            Ok(scratch::write(ctx, fd, &data, Some(offset)).map(|n| Some(Val::U64(n as u64))))
        }),
        ("read-directory", |ctx, fd, _, t| {
            match list_directory(ctx, fd) {
                Ok(entries) => {
                    let rep = ctx.p2.insert(Resource::Entries(entries))?;
                    Ok(Ok(Some(Val::Resource(t.entries.own(rep)))))
                }
                Err(errno) => Ok(Err(errno)),
            }
        }),
        ("create-directory-at", |ctx, fd, params, _| {
            path_call(ctx, params, 1, |ctx, mem, (p, l)| {
                crate::path::path_create_directory(ctx, mem, fd, p, l)
            })
        }),
        ("remove-directory-at", |ctx, fd, params, _| {
            path_call(ctx, params, 1, |ctx, mem, (p, l)| {
                crate::path::path_remove_directory(ctx, mem, fd, p, l)
            })
        }),
        ("unlink-file-at", |ctx, fd, params, _| {
            path_call(ctx, params, 1, |ctx, mem, (p, l)| {
                crate::path::path_unlink_file(ctx, mem, fd, p, l)
            })
        }),
        ("stat", |ctx, fd, _, _| {
            Ok(scratch::filestat(ctx, fd).map(|out| Some(stat_val(&out))))
        }),
        ("stat-at", |ctx, fd, params, _| {
            Ok(stat_at(ctx, fd, params)?.map(|out| Some(stat_val(&out))))
        }),
        ("set-times-at", |ctx, fd, params, _| {
            let follow = follow_flag(params, 1)?;
            let path = arg_str(params, 2)?;
            let (atim, mtim, flags) = new_times(params, 3)?;
            Ok(
                scratch::call(ctx, &[path.as_bytes()], 0, |ctx, mem, spans, _| {
                    let (p, l) = spans[0];
                    crate::path::path_filestat_set_times(
                        ctx, mem, fd, follow, p, l, atim, mtim, flags,
                    )
                })
                .map(|_| None),
            )
        }),
        ("link-at", |ctx, fd, params, t| {
            let follow = follow_flag(params, 1)?;
            let old = arg_str(params, 2)?;
            let new_fd = arg_rep(params, 3, &t.descriptor)?;
            let new = arg_str(params, 4)?;
            Ok(scratch::call(
                ctx,
                &[old.as_bytes(), new.as_bytes()],
                0,
                |ctx, mem, s, _| {
                    crate::path::path_link(
                        ctx, mem, fd, follow, s[0].0, s[0].1, new_fd, s[1].0, s[1].1,
                    )
                },
            )
            .map(|_| None))
        }),
        ("open-at", |ctx, fd, params, t| {
            Ok(open_at(ctx, fd, params, t))
        }),
        ("readlink-at", |ctx, fd, params, _| {
            let path = arg_str(params, 1)?;
            const BUF: usize = 4096;
            let out = scratch::call(ctx, &[path.as_bytes()], 8 + BUF, |ctx, mem, spans, out| {
                let (p, l) = spans[0];
                crate::path::path_readlink(ctx, mem, fd, p, l, out + 8, BUF as u32, out)
            });
            Ok(out.map(|out| {
                let used = (u32_at(&out, 0) as usize).min(BUF);
                Some(Val::String(
                    String::from_utf8_lossy(&out[8..8 + used]).into_owned(),
                ))
            }))
        }),
        ("rename-at", |ctx, fd, params, t| {
            let old = arg_str(params, 1)?;
            let new_fd = arg_rep(params, 2, &t.descriptor)?;
            let new = arg_str(params, 3)?;
            Ok(scratch::call(
                ctx,
                &[old.as_bytes(), new.as_bytes()],
                0,
                |ctx, mem, s, _| {
                    crate::path::path_rename(ctx, mem, fd, s[0].0, s[0].1, new_fd, s[1].0, s[1].1)
                },
            )
            .map(|_| None))
        }),
        ("symlink-at", |ctx, fd, params, _| {
            let target = arg_str(params, 1)?;
            let link = arg_str(params, 2)?;
            Ok(scratch::call(
                ctx,
                &[target.as_bytes(), link.as_bytes()],
                0,
                |ctx, mem, s, _| {
                    crate::path::path_symlink(ctx, mem, s[0].0, s[0].1, fd, s[1].0, s[1].1)
                },
            )
            .map(|_| None))
        }),
        ("metadata-hash", |ctx, fd, _, _| {
            Ok(scratch::filestat(ctx, fd).map(|out| Some(hash_val(&out))))
        }),
        ("metadata-hash-at", |ctx, fd, params, _| {
            Ok(stat_at(ctx, fd, params)?.map(|out| Some(hash_val(&out))))
        }),
        ("is-same-object", |_, _, _, _| Ok(Ok(None))),
    ];
    for (name, method) in methods {
        let t = types.clone();
        let is_same = name == "is-same-object";
        host.func(
            &mut fs,
            &format!("[method]descriptor.{name}"),
            move |ctx, params, _| {
                let fd = arg_rep(params, 0, &t.descriptor)?;
                if is_same {
                    let other = arg_rep(params, 1, &t.descriptor)?;
                    return Ok(Val::Bool(same_object(ctx, fd, other)));
                }
                Ok(match method(ctx, fd, params, &t)? {
                    Ok(value) => ok(value),
                    Err(errno) => err(error_code(errno)),
                })
            },
        );
    }
    let t = types.clone();
    host.func(
        &mut fs,
        "[method]directory-entry-stream.read-directory-entry",
        move |ctx, params, _| {
            let rep = arg_rep(params, 0, &t.entries)?;
            let Resource::Entries(entries) = ctx.p2.get_mut(rep)? else {
                return Err(ward::Error::msg("not a directory-entry-stream"));
            };
            let entry = entries.pop_front().map(|(name, ty)| {
                Box::new(Val::Record(vec![
                    ("type".into(), descriptor_type(ty)),
                    ("name".into(), Val::String(name)),
                ]))
            });
            Ok(ok(Some(Val::Option(entry))))
        },
    );
    let t = types.clone();
    host.func(&mut fs, "filesystem-error-code", move |ctx, params, _| {
        let rep = arg_rep(params, 0, &t.error)?;
        Ok(Val::Option(match ctx.p2.get(rep)? {
            Resource::Error(errno) => Some(Box::new(error_code(*errno))),
            _ => None,
        }))
    });

    let mut preopens = linker.instance(&interface("wasi:filesystem/preopens"));
    preopens.define_resource("descriptor", &types.descriptor);
    let t = types.clone();
    host.func(&mut preopens, "get-directories", move |ctx, _, _| {
        let fds: Vec<u32> = ctx.fds.keys().copied().collect();
        let mut dirs = Vec::new();
        for fd in fds {
            let Ok(out) = scratch::call(ctx, &[], 8, |ctx, mem, _, out| {
                crate::fs::fd_prestat_get(ctx, mem, fd, out)
            }) else {
                continue;
            };
            let len = u32_at(&out, 4).min(4096);
            let Ok(name) = scratch::call(ctx, &[], len as usize, |ctx, mem, _, out| {
                crate::fs::fd_prestat_dir_name(ctx, mem, fd, out, len)
            }) else {
                continue;
            };
            dirs.push(Val::Tuple(vec![
                Val::Resource(t.descriptor.own(fd)),
                Val::String(String::from_utf8_lossy(&name).into_owned()),
            ]));
        }
        Ok(Val::List(dirs))
    });
}

/// Whether `fd` is a preopened directory (`fd_prestat_get` succeeds).
pub(super) fn is_preopen(ctx: &mut WasiState, fd: u32) -> bool {
    scratch::call(ctx, &[], 8, |ctx, mem, _, out| {
        crate::fs::fd_prestat_get(ctx, mem, fd, out)
    })
    .is_ok()
}

/// The `advice` cases, in the order of preview1's numbers.
const ADVICE: [&str; 6] = [
    "normal",
    "sequential",
    "random",
    "will-need",
    "dont-need",
    "no-reuse",
];

/// A new stream resource over a descriptor.
fn stream(
    ctx: &mut WasiState,
    ty: &HostResource,
    resource: Resource,
) -> ward::Result<WasiResult<Option<Val>>> {
    let rep = ctx.p2.insert(resource)?;
    Ok(Ok(Some(Val::Resource(ty.own(rep)))))
}

/// Runs a preview1 path syscall on the path in argument `index`.
fn path_call(
    ctx: &mut WasiState,
    params: &[Val],
    index: usize,
    syscall: impl FnOnce(&mut WasiState, &mut crate::guest::GuestMemory<'_>, (u32, u32)) -> WasiResult,
) -> ward::Result<WasiResult<Option<Val>>> {
    let path = arg_str(params, index)?;
    Ok(
        scratch::call(ctx, &[path.as_bytes()], 0, |ctx, mem, spans, _| {
            syscall(ctx, mem, spans[0])
        })
        .map(|_| None),
    )
}

/// The preview1 lookup flags of `path-flags` argument `index`.
fn follow_flag(params: &[Val], index: usize) -> ward::Result<u32> {
    let flags = arg_flags(params, index)?;
    Ok(u32::from(flags.iter().any(|f| f == "symlink-follow")))
}

/// `stat-at(path-flags, path)` as a preview1 `filestat`.
fn stat_at(ctx: &mut WasiState, fd: u32, params: &[Val]) -> ward::Result<WasiResult<Vec<u8>>> {
    let follow = follow_flag(params, 1)?;
    let path = arg_str(params, 2)?;
    Ok(scratch::call(
        ctx,
        &[path.as_bytes()],
        FILESTAT,
        |ctx, mem, spans, out| {
            let (p, l) = spans[0];
            crate::path::path_filestat_get(ctx, mem, Snapshot::Preview1, fd, follow, p, l, out)
        },
    ))
}

/// `open-at(path-flags, path, open-flags, descriptor-flags)`: `path_open` with the rights the
/// flags ask for.
fn open_at(ctx: &mut WasiState, fd: u32, params: &[Val], t: &Types) -> WasiResult<Option<Val>> {
    let decode = || -> ward::Result<(u32, &str, &[String], &[String])> {
        Ok((
            follow_flag(params, 1)?,
            arg_str(params, 2)?,
            arg_flags(params, 3)?,
            arg_flags(params, 4)?,
        ))
    };
    let (follow, path, open, flags) = decode().map_err(|_| Errno::Inval)?;
    let has = |set: &[String], name: &str| set.iter().any(|f| f == name);
    let mut oflag_bits = 0;
    for (name, bit) in [
        ("create", oflags::CREAT),
        ("directory", oflags::DIRECTORY),
        ("exclusive", oflags::EXCL),
        ("truncate", oflags::TRUNC),
    ] {
        if has(open, name) {
            oflag_bits |= bit;
        }
    }
    let mut base = rights::FILE_ANY;
    if has(flags, "read") {
        base |= rights::FD_READ | rights::DIR_READ;
    }
    if has(flags, "write") {
        base |= rights::FILE_WRITE;
    }
    if has(flags, "mutate-directory") {
        base |= rights::DIR_READ | rights::DIR_WRITE;
    }
    if has(open, "directory") {
        // A directory is never opened for writing its contents as a file.
        base &= !rights::FILE_WRITE;
    }
    let out = scratch::call(ctx, &[path.as_bytes()], 8, |ctx, mem, spans, out| {
        let (p, l) = spans[0];
        crate::path::path_open(ctx, mem, fd, follow, p, l, oflag_bits, base, 0, out)
    })?;
    Ok(Some(Val::Resource(t.descriptor.own(u32_at(&out, 0)))))
}

/// A descriptor's preview1 file type and base rights (`fd_fdstat_get`).
fn fdstat(ctx: &mut WasiState, fd: u32) -> WasiResult<(u8, u64)> {
    let out = scratch::call(ctx, &[], 24, |ctx, mem, _, out| {
        crate::fs::fd_fdstat_get(ctx, mem, fd, out)
    })?;
    Ok((out[0], u64_at(&out, 8)))
}

/// The `descriptor-flags` of preview1 rights.
fn flags_of(base: u64) -> Val {
    let mut flags = Vec::new();
    if base & (rights::FD_READ | rights::FD_READDIR) != 0 {
        flags.push("read".to_string());
    }
    if base & rights::FD_WRITE != 0 {
        flags.push("write".to_string());
    }
    if base & rights::PATH_CREATE_FILE != 0 {
        flags.push("mutate-directory".to_string());
    }
    Val::Flags(flags)
}

/// The `descriptor-type` of a preview1 file type.
fn descriptor_type(ty: u8) -> Val {
    let name = match ty {
        filetype::BLOCK_DEVICE => "block-device",
        filetype::CHARACTER_DEVICE => "character-device",
        filetype::DIRECTORY => "directory",
        filetype::REGULAR_FILE => "regular-file",
        filetype::SYMBOLIC_LINK => "symbolic-link",
        5 | filetype::SOCKET_STREAM => "socket",
        _ => "unknown",
    };
    Val::Enum(name.to_string())
}

/// A `descriptor-stat` of a preview1 `filestat`; zero timestamps (as deterministic runs report)
/// are `none`.
fn stat_val(stat: &[u8]) -> Val {
    let time = |at: usize| {
        let nanos = u64_at(stat, at);
        Val::Option((nanos != 0).then(|| Box::new(datetime(nanos))))
    };
    Val::Record(vec![
        (
            "type".into(),
            descriptor_type(stat.get(16).copied().unwrap_or(0)),
        ),
        ("link-count".into(), Val::U64(u64_at(stat, 24))),
        ("size".into(), Val::U64(u64_at(stat, 32))),
        ("data-access-timestamp".into(), time(40)),
        ("data-modification-timestamp".into(), time(48)),
        ("status-change-timestamp".into(), time(56)),
    ])
}

/// A `metadata-hash-value` of a preview1 `filestat`: its device and inode numbers, mixed.
fn hash_val(stat: &[u8]) -> Val {
    let (dev, ino) = (u64_at(stat, 0), u64_at(stat, 8));
    let mix = |x: u64| x.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(31);
    Val::Record(vec![
        ("lower".into(), Val::U64(mix(ino ^ dev.rotate_left(17)))),
        ("upper".into(), Val::U64(mix(dev ^ ino.rotate_left(29)))),
    ])
}

/// Whether two descriptors name the same file (device and inode numbers).
fn same_object(ctx: &mut WasiState, a: u32, b: u32) -> bool {
    let [first, second] =
        [a, b].map(|fd| scratch::filestat(ctx, fd).map(|out| (u64_at(&out, 0), u64_at(&out, 8))));
    matches!((first, second), (Ok(x), Ok(y)) if x == y)
}

/// The two `new-timestamp` arguments from `index` as preview1 times and `fst_flags`.
fn new_times(params: &[Val], index: usize) -> ward::Result<(u64, u64, u16)> {
    use crate::abi::fstflags;
    let mut times = [0u64; 2];
    let mut flags = 0;
    for (i, (set, now)) in [
        (fstflags::ATIM, fstflags::ATIM_NOW),
        (fstflags::MTIM, fstflags::MTIM_NOW),
    ]
    .into_iter()
    .enumerate()
    {
        match params.get(index + i) {
            Some(Val::Variant(case, payload)) => match case.as_str() {
                "now" => flags |= now,
                "timestamp" => {
                    if let Some(Val::Record(fields)) = payload.as_deref() {
                        let field = |n: &str| fields.iter().find(|(f, _)| f == n).map(|(_, v)| v);
                        let (Some(Val::U64(s)), Some(Val::U32(ns))) =
                            (field("seconds"), field("nanoseconds"))
                        else {
                            return Err(ward::Error::msg("a malformed datetime"));
                        };
                        times[i] = s
                            .saturating_mul(1_000_000_000)
                            .saturating_add(u64::from(*ns));
                        flags |= set;
                    }
                }
                _ => {}
            },
            other => {
                return Err(ward::Error::msg(format!(
                    "a new-timestamp expected, got {other:?}"
                )));
            }
        }
    }
    Ok((times[0], times[1], flags))
}

/// Every entry of directory `fd` but `.` and `..`, with its preview1 file type (`fd_readdir`).
fn list_directory(ctx: &mut WasiState, fd: u32) -> WasiResult<VecDeque<(String, u8)>> {
    const BUF: usize = 64 * 1024;
    const DIRENT: usize = 24;
    let mut entries = VecDeque::new();
    let mut cookie = 0;
    loop {
        let out = scratch::call(ctx, &[], 8 + BUF, |ctx, mem, _, out| {
            crate::fs::fd_readdir(ctx, mem, fd, out + 8, BUF as u32, cookie, out)
        })?;
        let used = (u32_at(&out, 0) as usize).min(BUF);
        let buf = &out[8..8 + used];
        let mut at = 0;
        let mut progressed = false;
        while at + DIRENT <= buf.len() {
            let next = u64_at(buf, at);
            let name_len = u32_at(buf, at + 16) as usize;
            let ty = buf[at + 20];
            let Some(name) = buf.get(at + DIRENT..at + DIRENT + name_len) else {
                break;
            };
            let name = String::from_utf8_lossy(name).into_owned();
            if name != "." && name != ".." {
                entries.push_back((name, ty));
            }
            cookie = next;
            progressed = true;
            at += DIRENT + name_len;
        }
        if used < BUF || !progressed {
            return Ok(entries);
        }
        if entries.len() > 1 << 20 {
            return Err(Errno::Nomem);
        }
    }
}
