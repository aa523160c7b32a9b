#!/usr/bin/env python3
"""Writes guide.pdf: a two-page PDF 1.4 with Helvetica text, made by hand (no PDF library) so that Kiln's tests and the
browser test have a real PDF whose text poppler's pdftotext extracts. Run: python3 make_pdf.py"""

PAGES = [
    ["Kiln firing handbook", "", "Bisque firing happens at cone 04, about 1060 degrees Celsius.",
     "The kiln is loaded with pieces touching, since unglazed ware does not stick."],
    ["Glaze firing", "", "The tenmoku glaze is fired to cone 10 in a reduction atmosphere.",
     "Cooling slowly through 1000 degrees gives tenmoku its rust-coloured breaks."],
]


def stream(lines):
    out = ["BT", "/F1 12 Tf", "72 720 Td", "16 TL"]
    for line in lines:
        text = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        out.append(f"({text}) Tj T*")
    out.append("ET")
    return "\n".join(out).encode("latin-1")


objects = []
kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(len(PAGES)))
objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(PAGES)} >>".encode())
font = 3 + 2 * len(PAGES)
for i, page in enumerate(PAGES):
    objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 {font} 0 R >> >> "
                   f"/Contents {4 + 2 * i} 0 R >>".encode())
    data = stream(page)
    objects.append(b"<< /Length " + str(len(data)).encode() + b" >>\nstream\n" + data + b"\nendstream")
objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")

body = b"%PDF-1.4\n"
offsets = []
for number, obj in enumerate(objects, start=1):
    offsets.append(len(body))
    body += f"{number} 0 obj\n".encode() + obj + b"\nendobj\n"
xref = len(body)
body += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
for offset in offsets:
    body += f"{offset:010d} 00000 n \n".encode()
body += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
open("guide.pdf", "wb").write(body)
