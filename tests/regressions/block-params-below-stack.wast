;; Regression tests from differential fuzzing against wasmi (tests/robustness.rs, seed 20261125).
;; In both modules a value sits on the operand stack below a block or `if` that takes parameters; the
;; value must survive the block. ward kept it; wasmi 2.0.0 read it back as 0, which the long
;; differential run reported as a disagreement. The expected globals were worked out by hand from the
;; Wasm semantics (see the comments).

;; Case 90592: `if (param f32) (result externref)` takes the else branch (g1 ^= bits of 0x1.e0004p-130
;; = 0xF0002); after the `if`, the externref is dropped and the f32 parameter below it is xored into g1.
(module
  (type (;0;) (func (param f32) (result externref)))
  (func (;0;) (type 0) (param f32) (result externref)
    (local f32 f32)
    i64.const 2359280
    local.get 0
    f32.const 0x1.e0004p-130 (;=1.37754e-39;)
    memory.size
    i32.load offset=27870 align=1
    i64.load32_u offset=332933 align=2
    f64.convert_i64_s
    i32.trunc_f64_s
    if (param f32) (result externref)  ;; label = @1
      i64.trunc_sat_f32_u
      f64.convert_i64_s
      i32.trunc_sat_f64_u
      block  ;; label = @2
        elem.drop 0
        f32.const 0x1.fffffep+127 (;=3.40282e+38;)
        elem.drop 0
        i32.trunc_sat_f32_s
        i64.load32_u offset=3299
        f32.convert_i64_s
        f32.nearest
        local.tee 1
        f32.const nan (;=nan;)
        local.get 1
        local.get 1
        f32.eq
        select
        f32.abs
        f64.promote_f32
        i32.trunc_sat_f64_s
        data.drop 0
        i64.load32_u offset=141117 align=1
        i64.popcnt
        f64.reinterpret_i64
        f64.abs
        i32.trunc_sat_f64_s
        i32.extend8_s
        i64.load8_u offset=44849
        f64.convert_i64_u
        memory.size
        local.get 0
        f32.sqrt
        local.tee 2
        f32.const nan (;=nan;)
        local.get 2
        local.get 2
        f32.eq
        select
        data.drop 0
        f64.const -nan:0xfffffffbfffff (;=-nan;)
        i64.reinterpret_f64
        global.get 0
        i64.xor
        global.set 0
        i32.reinterpret_f32
        global.get 1
        i32.xor
        global.set 1
        global.get 2
        i32.xor
        global.set 2
        i64.reinterpret_f64
        global.get 0
        i64.xor
        global.set 0
      end
      global.get 2
      i32.xor
      global.set 2
      ref.null extern
    else
      i32.reinterpret_f32
      global.get 1
      i32.xor
      global.set 1
      ref.null extern
    end
    drop
    i32.reinterpret_f32
    global.get 1
    i32.xor
    global.set 1
    global.get 3
    i64.xor
    global.set 3
    ref.null extern)
  (table (;0;) 0 externref)
  (memory (;0;) 15 36)
  (global (;0;) (mut i64) (i64.const 0))
  (global (;1;) (mut i32) (i32.const 0))
  (global (;2;) (mut i32) (i32.const 0))
  (global (;3;) (mut i64) (i64.const 0))
  (export "T6," (func 0))
  (export "" (table 0))
  (export "2" (memory 0))
  (export "\12" (global 0))
  (export "4" (global 1))
  (export "6\09" (global 2))
  (export "6" (global 3))
  (elem (;0;) declare externref)
  (data (;0;) (i32.const 19049) ""))

(invoke "T6," (f32.const 0x1.390e940000000p+42))
(assert_return (get "4") (i32.const 1418954568))
(assert_return (get "6") (i64.const 2359280))
(assert_return (get "\12") (i64.const 0))
(assert_return (get "6\09") (i32.const 0))

;; Case 599972: `block (param f64)` is left by a taken `br_if 0`; the f64 parameter of the function,
;; below the block, is then reinterpreted and xored into global "3".
(module
  (type (;0;) (func (param f64)))
  (type (;1;) (func))
  (func (;0;) (type 0) (param f64)
    (local f32)
    ref.null extern
    local.get 0
    i32.const 374959296
    f64.convert_i32_s
    block (param f64)  ;; label = @1
      ref.null func
      i32.const -8193
      memory.size
      i32.rem_u
      br_if 0 (;@1;)
      local.get 1
      i32.trunc_f32_s
      i32.load16_u offset=121007
      br_if 1 (;@0;)
      loop  ;; label = @2
        br 0 (;@2;)
        i64.const -2707712704692080595
        br 1 (;@1;)
        f64.convert_i64_u
        i64.const 5272702090169599130
        block  ;; label = @3
          ref.null func
          ref.null extern
          f32.const -0x1.f0dc54p+20 (;=-2.03514e+06;)
          i64.trunc_sat_f32_s
          memory.size
          i32.load offset=752100 align=2
          i32.load8_u offset=183959
          i64.load offset=157399 align=1
          loop (result f64)  ;; label = @4
            f64.const -0x1.d78f3e4d9d9efp+1004 (;=-3.158e+302;)
            f32.demote_f64
            local.set 1
            f64.const 0x1p-767 (;=1.28823e-231;)
            f32.const 0x1.p-148 (;=2.8026e-45;)
            i64.trunc_sat_f32_u
            f32.convert_i64_s
            i32.trunc_f32_u
            block  ;; label = @5
              loop  ;; label = @6
                br 6 (;@0;)
                memory.size
                memory.grow
                br 0 (;@6;)
                global.get 0
                i32.xor
                global.set 0
              end
            end
            global.get 0
            i32.xor
            global.set 0
          end
          i64.reinterpret_f64
          global.get 1
          i64.xor
          global.set 1
          drop
          global.get 2
          i64.xor
          global.set 2
          drop
          drop
        end
        global.get 2
        i64.xor
        global.set 2
        i64.reinterpret_f64
        global.get 1
        i64.xor
        global.set 1
      end
      drop
      i64.reinterpret_f64
      global.get 1
      i64.xor
      global.set 1
    end
    i64.reinterpret_f64
    global.get 1
    i64.xor
    global.set 1
    drop)
  (memory (;0;) 12)
  (global (;0;) (mut i32) (i32.const 0))
  (global (;1;) (mut i64) (i64.const 0))
  (global (;2;) (mut i64) (i64.const 0))
  (export "" (func 0))
  (export "1" (memory 0))
  (export "\08," (global 0))
  (export "3" (global 1))
  (export "14" (global 2)))

(invoke "" (f64.const 0x1.fbf1f47eb47ecp+112))
(assert_return (get "3") (i64.const 5116017842787665900))
(assert_return (get "\08,") (i32.const 0))
(assert_return (get "14") (i64.const 0))
