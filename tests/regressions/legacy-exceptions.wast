;; Legacy exception handling beyond the spec's scripts: values left under a try, try with
;; parameters, catch blocks that branch out with results, rethrow from blocks nested in a catch,
;; delegate to a plain block and to the function, exceptions crossing calls, v128 payloads.

(module
  (tag $e (param i32))
  (tag $pair (param i64 i32))
  (tag $vec (param v128))
  (tag $empty)

  (func $throw (param i32) (throw $e (local.get 0)))

  ;; Values below the try survive the catch; the payload arrives on top of them.
  (func (export "below") (param i32) (result i32)
    (i32.const 100)
    (try (result i32)
      (do (call $throw (local.get 0)) (i32.const 0))
      (catch $e (i32.add (i32.const 1))))
    (i32.add))

  ;; A try with parameters: the catch block does not see them.
  (func (export "params") (param i32) (result i32)
    (i32.const 5)
    (local.get 0)
    (try (param i32 i32) (result i32)
      (do (if (param i32 i32) (result i32) (i32.eqz (local.get 0))
            (then (drop) (drop) (throw $pair (i64.const 7) (i32.const 8)))
            (else (i32.add))))
      (catch $pair (local.set 0) (i32.add (i32.wrap_i64) (local.get 0))))
    )

  ;; A branch out of a catch block carries results to the try's end.
  (func (export "branch-out") (param i32) (result i32 i32)
    (block $out (result i32 i32)
      (try (result i32 i32)
        (do (call $throw (local.get 0)) (i32.const 0) (i32.const 0))
        (catch $e
          (local.set 0)
          (if (i32.eqz (local.get 0)) (then (br $out (i32.const 1) (local.get 0))))
          (i32.const 2) (local.get 0))))
    )

  ;; rethrow from a block and a loop nested in the catch block, caught by an outer try.
  (func (export "nested-rethrow") (param i32) (result i32)
    (try (result i32)
      (do
        (try (result i32)
          (do (call $throw (local.get 0)) (i32.const 0))
          (catch_all
            (block (loop (block (rethrow 3))))
            (i32.const -1))))
      (catch $e)))

  ;; delegate to a plain block inside a try: the outer try catches it.
  (func (export "delegate-to-block") (param i32) (result i32)
    (try (result i32)
      (do
        (block $b (result i32)
          (try (result i32)
            (do
              (try (result i32)
                (do (call $throw (local.get 0)) (i32.const 0))
                (delegate $b)))
            (catch $e (drop) (i32.const -1)))))
      (catch $e (i32.add (i32.const 1000)))))

  ;; delegate to the function's label: the caller sees the exception.
  (func $delegate-out (param i32)
    (try
      (do (try (do (call $throw (local.get 0))) (delegate 1)))
      (catch_all)))
  (func (export "delegate-to-caller") (param i32) (result i32)
    (try (result i32)
      (do (call $delegate-out (local.get 0)) (i32.const 0))
      (catch $e)))

  ;; A v128 payload takes two slots.
  (func (export "vector") (result i64)
    (try (result i64)
      (do (throw $vec (v128.const i64x2 11 22)) (i64.const 0))
      (catch $vec (i64x2.extract_lane 1))))

  ;; Catch order: the first matching clause wins; catch_all takes the rest.
  (func (export "order") (param i32) (result i32)
    (try (result i32)
      (do
        (if (i32.eqz (local.get 0)) (then (throw $empty)))
        (throw $e (local.get 0)))
      (catch $empty (i32.const 10))
      (catch $e)
      (catch_all (i32.const 30))))

  ;; A rethrown exception is the same one: its payload is intact.
  (func (export "rethrow-payload") (param i32) (result i32)
    (try (result i32)
      (do
        (try (result i32)
          (do (call $throw (local.get 0)) (i32.const 0))
          (catch $e (drop) (rethrow 0))))
      (catch $e (i32.mul (i32.const 2)))))

  ;; A try_table inside a legacy catch block, and a legacy try inside a try_table.
  (func (export "mixed") (param i32) (result i32)
    (block $h (result i32)
      (try_table (catch $e $h)
        (try
          (do (call $throw (local.get 0)))
          (catch $e
            (drop)
            (block $inner (result i32)
              (try_table (catch $e $inner)
                (call $throw (i32.const 77)))
              (i32.const 0))
            (call $throw)))
        )
      (i32.const -1)))
)

(assert_return (invoke "below" (i32.const 5)) (i32.const 106))
(assert_return (invoke "params" (i32.const 0)) (i32.const 15))
(assert_return (invoke "params" (i32.const 3)) (i32.const 8))
(assert_return (invoke "branch-out" (i32.const 0)) (i32.const 1) (i32.const 0))
(assert_return (invoke "branch-out" (i32.const 4)) (i32.const 2) (i32.const 4))
(assert_return (invoke "nested-rethrow" (i32.const 9)) (i32.const 9))
(assert_return (invoke "delegate-to-block" (i32.const 3)) (i32.const 1003))
(assert_return (invoke "delegate-to-caller" (i32.const 42)) (i32.const 42))
(assert_return (invoke "vector") (i64.const 22))
(assert_return (invoke "order" (i32.const 0)) (i32.const 10))
(assert_return (invoke "order" (i32.const 6)) (i32.const 6))
(assert_return (invoke "rethrow-payload" (i32.const 21)) (i32.const 42))
(assert_return (invoke "mixed" (i32.const 1)) (i32.const 77))
