//! `/verify/{code}`: the page a receipt's QR code opens. It shows, in Arabic and French, what
//! the register says about the receipt: no personal data (no depositor, no subject), only
//! the registration's number, dates, registry, file digests and whether the receipt verifies.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use diwan_app::Services;
use diwan_app::model::ReceiptKind;

use crate::error::blocking;

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

struct Row {
    ar: &'static str,
    fr: &'static str,
    value: String,
}

fn page(title_ar: &str, title_fr: &str, status_ok: Option<bool>, rows: &[Row]) -> String {
    let (badge_ar, badge_fr, class) = match status_ok {
        Some(true) => ("وصل صحيح", "Accusé de réception valide", "ok"),
        Some(false) => ("وصل غير صحيح", "Accusé de réception non valide", "bad"),
        None => ("غير موجود", "Introuvable", "bad"),
    };
    let mut body = String::new();
    for r in rows {
        body.push_str(&format!(
            "<tr><th scope=\"row\" lang=\"fr\" dir=\"ltr\">{}</th><td dir=\"auto\">{}</td><th scope=\"row\" lang=\"ar\" dir=\"rtl\">{}</th></tr>\n",
            escape(r.fr),
            escape(&r.value),
            escape(r.ar)
        ));
    }
    format!(
        r#"<!doctype html>
<html lang="ar" dir="rtl">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title_ar} — {title_fr}</title>
<style>
body{{font-family:"Noto Naskh Arabic","Noto Sans",Arial,sans-serif;margin:0;padding:1rem;color:#1a1a1a;background:#fff;line-height:1.5}}
main{{max-width:48rem;margin:0 auto}}
h1{{font-size:1.3rem}}
.status{{padding:.75rem 1rem;border-radius:.4rem;font-weight:bold;margin:1rem 0}}
.ok{{background:#e6f4ea;color:#0b5d1e;border:2px solid #0b5d1e}}
.bad{{background:#fdecea;color:#8a1c12;border:2px solid #8a1c12}}
table{{border-collapse:collapse;width:100%}}
th,td{{border-bottom:1px solid #ccc;padding:.4rem;vertical-align:top;text-align:start;overflow-wrap:anywhere}}
th{{font-weight:normal;color:#444;width:25%}}
</style>
</head>
<body>
<main>
<h1><span lang="ar">{title_ar}</span> — <span lang="fr" dir="ltr">{title_fr}</span></h1>
<p class="status {class}" role="status"><span lang="ar">{badge_ar}</span> — <span lang="fr" dir="ltr">{badge_fr}</span></p>
<table>
{body}</table>
</main>
</body>
</html>
"#,
        title_ar = escape(title_ar),
        title_fr = escape(title_fr),
    )
}

/// The verification page of a receipt (the QR code's target).
pub async fn verify(s: web::Data<Services>, path: web::Path<String>) -> HttpResponse {
    let s = s.into_inner();
    let code: String = path.into_inner().chars().take(64).collect();
    let found = blocking(move || {
        let Some(stored) = s.store.receipt(&code, ReceiptKind::Receipt)? else {
            return Ok(None);
        };
        let report = diwan_app::receipts::verify(&s, stored.receipt.jws.as_bytes())?;
        let annulled = s
            .store
            .receipt(&code, ReceiptKind::Annulment)?
            .map(|a| diwan_app::receipts::content::time_text(&a.receipt.issued_at));
        Ok(Some((report, annulled)))
    })
    .await;
    let html = match found {
        Ok(Some((report, annulled))) => {
            let c = report.receipt.clone().unwrap_or_default();
            let t = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
            let mut rows = vec![
                Row {
                    ar: "رقم التسجيل",
                    fr: "Numéro d'enregistrement",
                    value: t(&c["registration_number"]),
                },
                Row {
                    ar: "مكتب الضبط",
                    fr: "Bureau d'ordre",
                    value: format!(
                        "{} — {}",
                        t(&c["registry"]["name_ar"]),
                        t(&c["registry"]["name_fr"])
                    ),
                },
                Row {
                    ar: "الإدارة",
                    fr: "Administration",
                    value: format!(
                        "{} — {}",
                        t(&c["administration"]["name_ar"]),
                        t(&c["administration"]["name_fr"])
                    ),
                },
                Row {
                    ar: "تاريخ الاستلام",
                    fr: "Date de réception",
                    value: format!(
                        "{} ({})",
                        t(&c["received_at"]["local"]),
                        t(&c["received_at"]["time_zone"])
                    ),
                },
                Row {
                    ar: "التاريخ الهجري",
                    fr: "Date hégirienne",
                    value: t(&c["received_at"]["hijri"]["text_ar"]),
                },
                Row {
                    ar: "الأجل القانوني",
                    fr: "Délai légal",
                    value: t(&c["deadline"]["date"]),
                },
            ];
            for f in c["files"].as_array().into_iter().flatten() {
                rows.push(Row {
                    ar: "وثيقة (SHA-256)",
                    fr: "Pièce (SHA-256)",
                    value: t(&f["sha256"]),
                });
            }
            rows.push(Row {
                ar: "التوقيع",
                fr: "Signature",
                value: report.signature.signer.clone().unwrap_or_default(),
            });
            rows.push(Row {
                ar: "سلسلة الثقة",
                fr: "Chaîne de confiance",
                value: report.chain.anchor.clone().unwrap_or_else(|| "—".into()),
            });
            rows.push(Row {
                ar: "السجل غير القابل للتلاعب",
                fr: "Journal infalsifiable",
                value: report
                    .log
                    .as_ref()
                    .and_then(|l| {
                        l.leaf_index
                            .map(|i| format!("#{i} / {}", l.tree_size.unwrap_or(0)))
                    })
                    .unwrap_or_default(),
            });
            if let Some(at) = annulled {
                rows.push(Row {
                    ar: "ملغى بتاريخ",
                    fr: "Annulé le",
                    value: at,
                });
            }
            page(
                "التحقق من وصل",
                "Vérification d'un accusé de réception",
                Some(report.valid),
                &rows,
            )
        }
        Ok(None) | Err(_) => page(
            "التحقق من وصل",
            "Vérification d'un accusé de réception",
            None,
            &[],
        ),
    };
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .body(html)
}
