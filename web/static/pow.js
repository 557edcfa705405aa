// Solves the request form's proof-of-work challenge (an ALTCHA-compatible scheme, see package
// challenge): find the number n, 0 <= n <= maxnumber, with SHA-256(salt + n) = challenge, and
// put the answer in the hidden "altcha" field. The hashing is our own small SHA-256 in plain
// JavaScript: SubtleCrypto exists only in secure contexts (not on plain http off localhost)
// and costs a promise per hash, which is slower for a hundred thousand tiny messages.
(function () {
  var field = document.querySelector("input[data-pow]");
  if (!field) return;
  var c = JSON.parse(field.getAttribute("data-pow"));
  var form = field.form;
  var status = document.querySelector("[data-pow-status]");
  var solved = false, waiting = false;

  var K = new Int32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2]);
  var W = new Int32Array(64), H = new Int32Array(8);

  // sha256 hashes the ASCII string s into H (eight big-endian words).
  function sha256(s) {
    var n = s.length, blocks = ((n + 8) >> 6) + 1, i, j, t;
    var m = new Int32Array(blocks * 16);
    for (i = 0; i < n; i++) m[i >> 2] |= (s.charCodeAt(i) & 0xff) << (24 - (i & 3) * 8);
    m[n >> 2] |= 0x80 << (24 - (n & 3) * 8);
    m[blocks * 16 - 1] = n * 8;
    H[0] = 0x6a09e667; H[1] = 0xbb67ae85; H[2] = 0x3c6ef372; H[3] = 0xa54ff53a;
    H[4] = 0x510e527f; H[5] = 0x9b05688c; H[6] = 0x1f83d9ab; H[7] = 0x5be0cd19;
    for (j = 0; j < blocks; j++) {
      for (i = 0; i < 16; i++) W[i] = m[j * 16 + i];
      for (i = 16; i < 64; i++) {
        var a = W[i - 15], b = W[i - 2];
        var s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
        var s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
        W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
      }
      var A = H[0], B = H[1], C = H[2], D = H[3], E = H[4], F = H[5], G = H[6], X = H[7];
      for (i = 0; i < 64; i++) {
        var S1 = ((E >>> 6) | (E << 26)) ^ ((E >>> 11) | (E << 21)) ^ ((E >>> 25) | (E << 7));
        var t1 = (X + S1 + ((E & F) ^ (~E & G)) + K[i] + W[i]) | 0;
        var S0 = ((A >>> 2) | (A << 30)) ^ ((A >>> 13) | (A << 19)) ^ ((A >>> 22) | (A << 10));
        t = (S0 + ((A & B) ^ (A & C) ^ (B & C))) | 0;
        X = G; G = F; F = E; E = (D + t1) | 0; D = C; C = B; B = A; A = (t1 + t) | 0;
      }
      H[0] += A; H[1] += B; H[2] += C; H[3] += D; H[4] += E; H[5] += F; H[6] += G; H[7] += X;
    }
  }

  var want = new Int32Array(8);
  for (var k = 0; k < 8; k++) want[k] = parseInt(c.challenge.substr(k * 8, 8), 16) | 0;
  function matches() {
    for (var i = 0; i < 8; i++) if (H[i] !== want[i]) return false;
    return true;
  }

  // Work in slices of about 50 ms, so that the page stays responsive.
  function work(n) {
    var until = Date.now() + 50;
    for (; n <= c.maxnumber; n++) {
      sha256(c.salt + n);
      if (matches()) return finish(n);
      if ((n & 1023) === 0 && Date.now() > until) return setTimeout(function () { work(n + 1); }, 0);
    }
    if (status) {
      status.hidden = false;
      // The page gives the words, in its language (data-pow-failed).
      status.textContent = status.getAttribute("data-pow-failed");
    }
  }

  function finish(n) {
    field.value = btoa(JSON.stringify({algorithm: c.algorithm, challenge: c.challenge, number: n, salt: c.salt, signature: c.signature}));
    solved = true;
    if (status) status.hidden = true;
    // form.submit() sends without another submit event, so this handler does not run twice.
    if (waiting) form.submit();
  }

  // Sent before the answer is found: wait for it, then send.
  form.addEventListener("submit", function (ev) {
    if (solved) return;
    ev.preventDefault();
    waiting = true;
    if (status) status.hidden = false;
  });
  work(0);
})();
