#!/usr/bin/env python3
"""Expected values for the KilnLedger Swift tests, computed with libraries independent of Kiln.

Requires: rfc8785==0.1.4 (Trail of Bits' RFC 8785 implementation) and cryptography==48.0.0 (OpenSSL Ed25519).
Run `python3 jcs_vectors.py numbers|strings|entries` and paste the output into the Swift tests named below.
  numbers -> JCSNumberVectors.swift       strings -> CanonicalJSONTests.swift (rfc8785Strings)
  entries -> LedgerEntryTests.swift (Python-signed entries and tree head, RFC 8032 TEST 1 key)
"""
import sys


def numbers():
    import rfc8785, json, struct, random, math
    random.seed(8785)
    out = []
    def bits(f): return struct.unpack('>Q', struct.pack('>d', f))[0]
    floats = []
    while len(floats) < 200:
        b = random.getrandbits(64)
        f = struct.unpack('>d', struct.pack('>Q', b))[0]
        if math.isfinite(f): floats.append(f)
    for _ in range(120):
        floats.append(random.choice([1,-1]) * 10 ** random.uniform(-9, 23))
    for _ in range(40):
        floats.append(float(random.randint(-10**6, 10**6)) / random.choice([1, 10, 100, 1000, 3, 7]))
    floats += [1e21, 1e-7, 1e-6, 123456789012345680000.0, 0.1, 0.2+0.1, 1.0/3, 2.0**53, 2.0**53+2, 2.0**63, 1e300, 5e-324, 2.2250738585072014e-308, 100.0, 1.5e-7, 1e20, 4.35, 0.000001234]
    print("// (IEEE 754 bits, rfc8785.dumps(float))")
    for f in floats:
        print('(0x%016x, "%s"),' % (bits(f), rfc8785.dumps(f).decode()))

def strings():
    import rfc8785, json
    cases = [
      # RFC 8785 section 3.2.3 sorting example (input as in the RFC)
      r'{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}',
      # RFC 8785 section 3.2.2 example
      r'{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],"string":"\u20ac$\u000F\u000aA\u0027\u0042\u0022\u005c\\\"\/","literals":[null,true,false]}',
      # UTF-16 ordering differs from code point ordering: U+1F600 (D83D DE00) sorts before U+E000 and U+FB33
      r'{"\ufb33":1,"\ud83d\ude00":2,"\ue000":3,"\uffff":4,"\ud800\udc00":5,"a":6,"A":7,"":8,"aa":9,"\u00e9":10,"x":"e\u0301 \u00e9"}',
      # every C0 control, DEL, U+2028/2029, quote, backslash, slash
      '{"s":"' + ''.join('\\u%04x' % c for c in range(0x20)) + r'\u007f\u2028\u2029\"\\\/"}',
      # nested containers and whitespace
      ' [ {"b" : [ 1 , 2.0, -0.0, 1e2 ], "a": {"z": null, "y": "\u00fc"}} , [], {} , "x" ] ',
      # integers near the edges
      '[0,-1,9007199254740991,-9007199254740991,1e21,1e-7,123e-2,1E+2,0.5e1]',
    ]
    print("// (input JSON text, rfc8785.dumps(json.loads(input)) as hex)")
    for c in cases:
        out = rfc8785.dumps(json.loads(c))
        print('(#"%s"#, "%s"),' % (c, out.hex()))
        print('   //', out.decode('utf-8'))

def entries():
    import rfc8785, hashlib
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    sk = Ed25519PrivateKey.from_private_bytes(bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))
    e0 = {"seq": 0, "time": 1767225600000, "kind": "datanet.created",
          "payload": {"datanet_id": "dn_1", "name": "Caf\u00e9 \u2603", "owner": "acct_7", "weights": [0.5, 1e-7, 3]},
          "prev_hash": "00" * 32}
    b0 = rfc8785.dumps(e0); h0 = hashlib.sha256(b0).digest()
    e1 = {"seq": 1, "time": 1767225600123, "kind": "submission.accepted",
          "payload": {"item_sha256": "ab" * 32, "contributor": "acct_9", "submission_id": 42}, "prev_hash": h0.hex()}
    b1 = rfc8785.dumps(e1); h1 = hashlib.sha256(b1).digest()
    print("e0", b0.decode()); print("h0", h0.hex()); print("s0", sk.sign(h0).hex())
    print("e1", b1.decode()); print("h1", h1.hex()); print("s1", sk.sign(h1).hex())
    # two-leaf Merkle root over entry hashes
    lh = lambda d: hashlib.sha256(b"\x00" + d).digest()
    root = hashlib.sha256(b"\x01" + lh(h0) + lh(h1)).digest()
    print("root", root.hex())
    msg = rfc8785.dumps({"root": root.hex(), "timestamp": 1767225601000, "tree_size": 2})
    print("sthmsg", msg.decode()); print("sthsig", sk.sign(msg).hex())


if __name__ == "__main__":
    {"numbers": numbers, "strings": strings, "entries": entries}[sys.argv[1] if len(sys.argv) > 1 else "numbers"]()
