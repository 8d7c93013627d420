// A JavaScript workload for QuickJS under the three engines (written for ward's benchmarks).
// Object, array, string and closure work in five parts; each prints a checksum, and the harness
// requires every engine to print the same lines. `SCALE` (set by the harness before this text)
// multiplies the amount of work.
"use strict";
const scale = typeof SCALE === "number" ? SCALE : 1;

// Deterministic pseudo-random numbers (a 32-bit LCG), so every run does the same work.
function makeRandom(seed) {
    let s = seed >>> 0;
    return () => {
        s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
        return s / 4294967296;
    };
}

// 1. A cooperative scheduler: tasks are objects holding closures, packets move between queues.
function scheduler(rounds) {
    const queues = [[], [], [], []];
    let processed = 0;
    let checksum = 0;
    const tasks = [];
    for (let id = 0; id < 4; id++) {
        let state = id;
        tasks.push({
            id,
            run(packet) {
                state = (state * 31 + packet.value) % 1000003;
                packet.value = (packet.value + state) & 0xffff;
                packet.hops++;
                processed++;
                return (id + 1 + (packet.value & 1)) % 4;
            },
        });
    }
    for (let i = 0; i < 64; i++) queues[i % 4].push({ value: i, hops: 0, kind: i % 3 });
    for (let r = 0; r < rounds; r++) {
        for (const task of tasks) {
            const queue = queues[task.id];
            // Each task takes what was queued for it when its turn came (new arrivals wait).
            let n = queue.length;
            while (n-- > 0) {
                const packet = queue.shift();
                const next = task.run(packet);
                if (packet.hops > 50) {
                    checksum = (checksum + packet.value * packet.kind) % 1000000007;
                    packet.hops = 0;
                }
                queues[next].push(packet);
            }
        }
    }
    return `${processed}:${checksum}`;
}

// 2. JSON round trip: build records, stringify, parse, aggregate.
function jsonRoundTrip(count, passes) {
    const rand = makeRandom(42);
    const records = [];
    for (let i = 0; i < count; i++) {
        records.push({
            id: i,
            name: "item-" + i.toString(36),
            price: Math.round(rand() * 10000) / 100,
            tags: ["a", "b", "c", "d"].filter(() => rand() < 0.5),
            dims: { w: (rand() * 100) | 0, h: (rand() * 100) | 0 },
        });
    }
    let total = 0;
    for (let p = 0; p < passes; p++) {
        const text = JSON.stringify(records);
        const back = JSON.parse(text);
        for (const r of back) {
            total += r.price * 100 + r.tags.length + r.dims.w * r.dims.h;
            r.price += 1;
        }
        total = total % 1000000007;
        records[p % count].price = back[p % count].price;
        total += text.length;
    }
    return Math.round(total);
}

// 3. Strings: tokenize text, count words in a Map, build and reverse strings, a regexp.
function strings(repeats) {
    const words = "the quick brown fox jumps over the lazy dog while seven wizards quietly hex jumbled boxes".split(" ");
    const rand = makeRandom(7);
    let text = "";
    for (let i = 0; i < 2000; i++) text += words[(rand() * words.length) | 0] + (i % 17 === 16 ? ".\n" : " ");
    let checksum = 0;
    for (let r = 0; r < repeats; r++) {
        const counts = new Map();
        for (const w of text.split(/\s+/)) {
            if (!w) continue;
            const key = w.replace(/\./g, "").toUpperCase();
            counts.set(key, (counts.get(key) || 0) + 1);
        }
        const sorted = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
        const line = sorted.map(([w, c]) => `${w}=${c}`).join(",");
        const reversed = line.split("").reverse().join("");
        checksum = (checksum * 31 + reversed.charCodeAt(r % reversed.length) + sorted.length) % 1000000007;
        const sentences = text.match(/[^.]+\./g) || [];
        checksum = (checksum + sentences.length + text.indexOf("wizards", r)) % 1000000007;
    }
    return checksum;
}

// 4. A small ray tracer: vector objects, spheres, diffuse shading with one shadow ray.
class Vec {
    constructor(x, y, z) { this.x = x; this.y = y; this.z = z; }
    add(o) { return new Vec(this.x + o.x, this.y + o.y, this.z + o.z); }
    sub(o) { return new Vec(this.x - o.x, this.y - o.y, this.z - o.z); }
    mul(k) { return new Vec(this.x * k, this.y * k, this.z * k); }
    dot(o) { return this.x * o.x + this.y * o.y + this.z * o.z; }
    norm() { const l = Math.sqrt(this.dot(this)); return this.mul(1 / l); }
}

function raytrace(width, height) {
    const spheres = [
        { c: new Vec(0, -1000, 0), r: 999, color: new Vec(0.8, 0.8, 0.8) },
        { c: new Vec(-1.5, 0, 5), r: 1, color: new Vec(1, 0.2, 0.2) },
        { c: new Vec(1.5, 0, 6), r: 1, color: new Vec(0.2, 0.3, 1) },
        { c: new Vec(0, 1.2, 7), r: 0.8, color: new Vec(0.2, 1, 0.3) },
    ];
    const light = new Vec(-4, 6, 0);
    const hit = (origin, dir) => {
        let best = null;
        let bestT = Infinity;
        for (const s of spheres) {
            const oc = origin.sub(s.c);
            const b = oc.dot(dir);
            const disc = b * b - (oc.dot(oc) - s.r * s.r);
            if (disc < 0) continue;
            const t = -b - Math.sqrt(disc);
            if (t > 1e-4 && t < bestT) { bestT = t; best = s; }
        }
        return best ? { s: best, t: bestT } : null;
    };
    let sum = 0;
    const eye = new Vec(0, 0, 0);
    for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
            const dir = new Vec((x - width / 2) / height, (height / 2 - y) / height, 1).norm();
            const h = hit(eye, dir);
            let shade = 0.1;
            if (h) {
                const p = eye.add(dir.mul(h.t));
                const n = p.sub(h.s.c).norm();
                const toLight = light.sub(p).norm();
                const lit = hit(p, toLight) ? 0 : Math.max(0, n.dot(toLight));
                const c = h.s.color.mul(0.1 + 0.9 * lit);
                shade = (c.x + c.y + c.z) / 3;
            }
            sum += Math.floor(shade * 255);
        }
    }
    return sum;
}

// 5. Arrays: sort with a comparator, map/filter/reduce chains, a Set, typed arrays.
function arrays(n, passes) {
    const rand = makeRandom(99);
    let checksum = 0;
    for (let p = 0; p < passes; p++) {
        const a = Array.from({ length: n }, () => (rand() * 1e6) | 0);
        a.sort((x, y) => x - y);
        const evens = a.filter((v) => v % 2 === 0).map((v) => v >> 1);
        const unique = new Set(evens);
        const f = new Float64Array(a.length);
        for (let i = 0; i < a.length; i++) f[i] = Math.sqrt(a[i]);
        const s = f.reduce((acc, v) => acc + v, 0);
        checksum = (checksum + unique.size + a[n >> 1] + Math.floor(s)) % 1000000007;
    }
    return checksum;
}

const results = [
    ["scheduler", scheduler(1000 * scale)],
    ["json", jsonRoundTrip(400, 12 * scale)],
    ["strings", strings(6 * scale)],
    ["raytrace", raytrace(96, 64 * scale)],
    ["arrays", arrays(5000, 4 * scale)],
];
for (const [name, value] of results) print(name, value);
