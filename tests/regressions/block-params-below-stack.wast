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

;; Case 191499 (seed 777, after the interpreter optimisations landed): the f32 1.0 computed before
;; `block (param externref) (result i64 f64)` stays below the block and ends up in global "" (bits
;; 0x3F800000); the `if` inside takes its else branch because its condition is multiplied by 0.
(module
  (type (;0;) (func (param i32 f32) (result i64 f32)))
  (type (;1;) (func (param externref) (result i64 f64)))
  (type (;2;) (func (param f32)))
  (type (;3;) (func (param i32) (result f32)))
  (func (;0;) (type 3) (param i32) (result f32)
    (local f32 funcref f32 f64 f64 f64 f32 f32 f64 f32 f32 f32 f32 f32 f32)
    ref.null extern
    f32.const 0x1.p-133 (;=9.18355e-41;)
    f32.ceil
    local.tee 3
    f32.const nan (;=nan;)
    local.get 3
    local.get 3
    f32.eq
    select
    i64.trunc_f32_u
    i32.wrap_i64
    f32.convert_i32_u
    local.tee 1
    f64.const -0x1.03ebdefee58bfp-335 (;=-1.45062e-101;)
    f64.ceil
    local.tee 4
    f64.const nan (;=nan;)
    local.get 4
    local.get 4
    f64.eq
    select
    f64.const 0x1.fffffffffffp-1030 (;=1.73834e-310;)
    f64.ne
    ref.null extern
    block (param externref) (result i64 f64)  ;; label = @1
      ref.null extern
      ref.null extern
      i64.const -140737488355329
      f64.convert_i64_u
      f64.floor
      local.tee 5
      f64.const nan (;=nan;)
      local.get 5
      local.get 5
      f64.eq
      select
      i64.trunc_sat_f64_u
      i64.extend8_s
      data.drop 0
      i64.ctz
      local.get 0
      local.set 0
      f64.convert_i64_s
      i32.trunc_f64_s
      i64.const 8877168409575743676
      i64.eqz
      i32.mul
      if (param externref) (result i64 f64)  ;; label = @2
        loop  ;; label = @3
          i32.const 8192
          f32.convert_i32_s
          f32.neg
          i32.trunc_sat_f32_s
          i32.ctz
          i32.extend8_s
          f32.reinterpret_i32
          i64.trunc_f32_s
          f64.const 0x1.ff8p-1065 (;=5.05429e-321;)
          i64.trunc_sat_f64_u
          i32.const -1073741825
          select
          i64.ctz
          f32.convert_i64_u
          br 3 (;@0;)
          f64.const 0x1.8a0127111196fp+17 (;=201730;)
          i64.trunc_f64_s
          f64.convert_i64_s
          f64.floor
          local.tee 6
          f64.const nan (;=nan;)
          local.get 6
          local.get 6
          f64.eq
          select
          f64.abs
          f32.demote_f64
          br 3 (;@0;)
          br 0 (;@3;)
          loop  ;; label = @4
            loop  ;; label = @5
              local.get 0
              loop (result i32)  ;; label = @6
                br 1 (;@5;)
                elem.drop 0
                br 3 (;@3;)
                loop (result f64)  ;; label = @7
                  loop (result externref)  ;; label = @8
                    i32.const 1136933066
                    f32.convert_i32_u
                    i64.trunc_sat_f32_u
                    br 5 (;@3;)
                    i64.clz
                    f32.const 0x1.p-142 (;=1.79366e-43;)
                    f32.ceil
                    local.tee 7
                    f32.const nan (;=nan;)
                    local.get 7
                    local.get 7
                    f32.eq
                    select
                    f32.ceil
                    local.tee 8
                    f32.const nan (;=nan;)
                    local.get 8
                    local.get 8
                    f32.eq
                    select
                    f32.const -nan:0x7ffc00 (;=-nan;)
                    f32.lt
                    local.get 0
                    i32.const 1880286662
                    local.tee 0
                    f64.convert_i32_s
                    f64.floor
                    local.tee 9
                    f64.const nan (;=nan;)
                    local.get 9
                    local.get 9
                    f64.eq
                    select
                    i32.trunc_f64_s
                    call 0
                    local.set 1
                    i32.rotl
                    i64.const -243737208884031336
                    elem.drop 0
                    f32.convert_i64_u
                    local.tee 1
                    f32.abs
                    f32.ceil
                    local.tee 10
                    f32.const nan (;=nan;)
                    local.get 10
                    local.get 10
                    f32.eq
                    select
                    i64.trunc_sat_f32_s
                    i64.const -638934775140546913
                    data.drop 1
                    i64.extend16_s
                    block  ;; label = @9
                      f32.const -0x1.48f068p-37 (;=-9.34901e-12;)
                      f32.const 0x1.bd6e7p-29 (;=3.24094e-09;)
                      f32.copysign
                      f32.floor
                      local.tee 11
                      f32.const nan (;=nan;)
                      local.get 11
                      local.get 11
                      f32.eq
                      select
                      br 2 (;@7;)
                      f32.trunc
                      local.tee 12
                      f32.const nan (;=nan;)
                      local.get 12
                      local.get 12
                      f32.eq
                      select
                      f32.sqrt
                      local.tee 13
                      f32.const nan (;=nan;)
                      local.get 13
                      local.get 13
                      f32.eq
                      select
                      br 0 (;@9;)
                      f32.trunc
                      local.tee 14
                      f32.const nan (;=nan;)
                      local.get 14
                      local.get 14
                      f32.eq
                      select
                      f32.neg
                      f64.promote_f32
                      i32.trunc_f64_s
                      i64.extend_i32_u
                      data.drop 1
                      i64.eqz
                      br_table 0 (;@9;) 1 (;@8;) 2 (;@7;) 3 (;@6;) 4 (;@5;) 5 (;@4;) 6 (;@3;) 0 (;@9;)
                      f32.const -0x1.f887aep+99 (;=-1.24916e+30;)
                      ref.null extern
                      elem.drop 0
                      br 4 (;@5;)
                      data.drop 0
                      ref.null func
                      local.tee 2
                      br 1 (;@8;)
                      i32.const 375142882
                      f32.const 0x1.aaaaaap+43 (;=1.46602e+13;)
                      f32.nearest
                      local.tee 15
                      f32.const nan (;=nan;)
                      local.get 15
                      local.get 15
                      f32.eq
                      select
                      f32.neg
                      f32.abs
                      i32.reinterpret_f32
                      global.get 0
                      i32.xor
                      global.set 0
                      global.get 1
                      i32.xor
                      global.set 1
                      drop
                      drop
                      i32.reinterpret_f32
                      global.get 0
                      i32.xor
                      global.set 0
                    end
                    global.get 2
                    i64.xor
                    global.set 2
                    global.get 2
                    i64.xor
                    global.set 2
                    global.get 1
                    i32.xor
                    global.set 1
                    global.get 2
                    i64.xor
                    global.set 2
                    ref.null extern
                  end
                  drop
                  f64.const 0x1.942a8e44b6c08p-128 (;=4.6396e-39;)
                end
                i64.reinterpret_f64
                global.get 3
                i64.xor
                global.set 3
                i32.const 2097151
              end
              global.get 1
              i32.xor
              global.set 1
              global.get 1
              i32.xor
              global.set 1
            end
          end
        end
        drop
        i64.const -4194305
        f64.const -0x1.bcc3c0828217ap-392 (;=-1.72239e-118;)
      else
        drop
        i64.const 127
        f64.const -0x1.dae84a1835dd7p-199 (;=-2.30887e-60;)
      end
      i64.reinterpret_f64
      global.get 3
      i64.xor
      global.set 3
      global.get 2
      i64.xor
      global.set 2
      drop
      drop
      i64.const -32769
      f64.const -0x1.a197098d725f1p-534 (;=-2.90063e-161;)
    end
    i64.reinterpret_f64
    global.get 3
    i64.xor
    global.set 3
    global.get 2
    i64.xor
    global.set 2
    global.get 1
    i32.xor
    global.set 1
    i32.reinterpret_f32
    global.get 0
    i32.xor
    global.set 0
    drop
    f32.const -0x1.fffffep+96 (;=-1.58456e+29;))
  (global (;0;) (mut i32) (i32.const 0))
  (global (;1;) (mut i32) (i32.const 0))
  (global (;2;) (mut i64) (i64.const 0))
  (global (;3;) (mut i64) (i64.const 0))
  (export "B" (func 0))
  (export "" (global 0))
  (export "2" (global 1))
  (export "3" (global 2))
  (export "4" (global 3))
  (elem (;0;) declare func)
  (data (;0;) "]")
  (data (;1;) "")
  (data (;2;) "x"))

(invoke "B" (i32.const -1586323051))
(assert_return (get "") (i32.const 1065353216))
(assert_return (get "2") (i32.const 1))
(assert_return (get "3") (i64.const -32896))
(assert_return (get "4") (i64.const 3249267915732842534))
