;; Message passing between two `thread`s sharing one memory: the producer writes a value with a
;; plain store and then publishes it with an atomic store of a flag, notifying waiters; the consumer
;; waits on the flag (memory.atomic.wait32) and must then see the value. Checked afterwards from the
;; main thread.

(module $Mem
  (memory (export "shared") 1 1 shared))
(register "mem" $Mem)

(thread $Producer (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "run")
      (i32.store (i32.const 16) (i32.const 42))
      (i32.atomic.store (i32.const 0) (i32.const 1))
      (drop (memory.atomic.notify (i32.const 0) (i32.const 1)))))
  (invoke "run"))

(thread $Consumer (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "run") (result i32)
      ;; Wait while the flag is 0 (returns at once once it is 1), then read the value.
      (block $ready
        (loop $again
          (br_if $ready (i32.atomic.load (i32.const 0)))
          (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const 1000000000)))
          (br $again)))
      (i32.store (i32.const 32) (i32.load (i32.const 16)))
      (i32.load (i32.const 16))))
  (assert_return (invoke "run") (i32.const 42)))

(wait $Producer)
(wait $Consumer)

(module $Check
  (memory (import "mem" "shared") 1 1 shared)
  (func (export "check") (result i32 i32)
    (i32.atomic.load (i32.const 0))
    (i32.load (i32.const 32))))
(assert_return (invoke $Check "check") (i32.const 1) (i32.const 42))
