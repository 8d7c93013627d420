;; A command component that checks non-blocking reads of standard input: `run` returns `ok` when
;; a non-blocking `read` of stdin gives no bytes and stdin's pollable is not ready, else `err`.
;; Used by crates/ward-cli/tests/wasip2.rs.
(component $C
  (import "wasi:io/streams@0.2.0" (instance $streams
    (export "input-stream" (type $in (sub resource)))
    (export "error" (type $err (sub resource)))
    (export "pollable" (type $p (sub resource)))
    (type $se (variant (case "last-operation-failed" (own $err)) (case "closed")))
    (export "stream-error" (type $se' (eq $se)))
    (export "[method]input-stream.read"
      (func (param "self" (borrow $in)) (param "len" u64) (result (result (list u8) (error $se')))))
    (export "[method]input-stream.subscribe" (func (param "self" (borrow $in)) (result (own $p))))))
  (alias export $streams "input-stream" (type $input-stream))
  (alias export $streams "pollable" (type $pollable))
  (import "wasi:io/poll@0.2.0" (instance $poll
    (alias outer $C $pollable (type $p))
    (export "pollable" (type $p' (eq $p)))
    (export "[method]pollable.ready" (func (param "self" (borrow $p')) (result bool)))))
  (import "wasi:cli/stdin@0.2.0" (instance $stdin
    (alias outer $C $input-stream (type $in))
    (export "input-stream" (type $in' (eq $in)))
    (export "get-stdin" (func (result (own $in'))))))
  (core module $mem
    (memory (export "mem") 1)
    (func (export "realloc") (param i32 i32 i32 i32) (result i32) (i32.const 1024)))
  (core instance $mem (instantiate $mem))
  (alias export $streams "[method]input-stream.read" (func $read))
  (alias export $streams "[method]input-stream.subscribe" (func $subscribe))
  (alias export $poll "[method]pollable.ready" (func $ready))
  (alias export $stdin "get-stdin" (func $get-stdin))
  (core func $read' (canon lower (func $read)
    (memory (core memory $mem "mem")) (realloc (core func $mem "realloc"))))
  (core func $subscribe' (canon lower (func $subscribe)))
  (core func $ready' (canon lower (func $ready)))
  (core func $get-stdin' (canon lower (func $get-stdin)))
  (core module $m
    (import "" "mem" (memory 1))
    (import "" "read" (func $read (param i32 i64 i32)))
    (import "" "subscribe" (func $subscribe (param i32) (result i32)))
    (import "" "ready" (func $ready (param i32) (result i32)))
    (import "" "get-stdin" (func $get-stdin (result i32)))
    ;; ok when a non-blocking read returns no bytes and stdin's pollable is not ready
    (func (export "run") (result i32)
      (local $h i32)
      (local.set $h (call $get-stdin))
      (call $read (local.get $h) (i64.const 16) (i32.const 0))
      (if (i32.load8_u (i32.const 0)) (then (return (i32.const 1))))
      (if (i32.load (i32.const 8)) (then (return (i32.const 1))))
      (if (call $ready (call $subscribe (local.get $h))) (then (return (i32.const 1))))
      (i32.const 0)))
  (core instance $i (instantiate $m (with "" (instance
    (export "mem" (memory $mem "mem"))
    (export "read" (func $read'))
    (export "subscribe" (func $subscribe'))
    (export "ready" (func $ready'))
    (export "get-stdin" (func $get-stdin'))))))
  (func $run (result (result)) (canon lift (core func $i "run")))
  (instance $run-instance (export "run" (func $run)))
  (export "wasi:cli/run@0.2.0" (instance $run-instance)))
