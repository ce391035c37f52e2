//! Fee payment through a payment provider, VNPay-style (see `cityhall_core::dossier::payment`):
//! the resident is redirected with signed parameters; the provider confirms server to server
//! (`/pay/ipn`) and sends the resident back (`/pay/return`), both signed. Either may arrive
//! first or twice; the fee is recorded once. The built-in sandbox provider (`/pay/sandbox`)
//! speaks the same protocol for demos and tests.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use cityhall_core::dossier::payment;
use cityhall_core::dossier::Actor;
use cityhall_db::dossier::PaymentRow;
use cityhall_db::{micros, new_id, Db, DossierStore, StoreError};
use time::OffsetDateTime;

use super::service::{self, ActionRequest, ActorRef, PaymentConfirmation};
use crate::auth::{CsrfForm, Signed};
use crate::error::{AppError, AppResult};
use crate::pages::{render, PageCtx};
use crate::AppState;

const TMN_CODE: &str = "CITYHALL";

fn secret(state: &AppState) -> Vec<u8> {
    state.config.payment_secret.clone()
}

fn pay_stamp(t: OffsetDateTime) -> String {
    let t = t.to_offset(cityhall_core::calendar::VN_OFFSET);
    format!(
        "{}{:02}{:02}{:02}{:02}{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Starts paying the fee a dossier waits for: records a pending payment and sends the
/// resident to the provider.
pub async fn start(
    State(state): State<AppState>,
    p: PageCtx,
    s: Signed,
    Path(code): Path<String>,
    CsrfForm(_): CsrfForm<BTreeMap<String, String>>,
) -> AppResult<Response> {
    let d = state.db.dossier_by_code(code.trim()).await?;
    if d.owner_id.as_deref() != Some(s.user_id()) {
        return Err(AppError::not_found());
    }
    if d.state != "payment" || d.fee_due <= 0 {
        return Err(AppError::new(
            axum::http::StatusCode::CONFLICT,
            "conflict",
            "err-pay-not-due",
        ));
    }
    let now = OffsetDateTime::now_utc();
    let txn = new_id().replace('-', "");
    let mut tx = state.db.begin().await?;
    Db::insert_payment(
        &mut tx,
        &PaymentRow {
            id: txn.clone(),
            dossier_id: d.id.clone(),
            amount: d.fee_due,
            provider: state.config.payment_provider.clone(),
            status: "pending".into(),
            provider_ref: None,
            receipt_no: None,
            created_at: micros(now),
            paid_at: None,
        },
    )
    .await?;
    tx.commit().await?;
    let params: BTreeMap<String, String> = [
        ("vnp_Version", "2.1.0".to_string()),
        ("vnp_Command", "pay".into()),
        ("vnp_TmnCode", TMN_CODE.into()),
        ("vnp_Amount", (d.fee_due * 100).to_string()),
        ("vnp_CurrCode", "VND".into()),
        ("vnp_TxnRef", txn),
        ("vnp_OrderInfo", format!("Thanh toan ho so {}", code.trim())),
        ("vnp_OrderType", "other".into()),
        (
            "vnp_Locale",
            if p.tr.lang == crate::i18n::Lang::En {
                "en"
            } else {
                "vn"
            }
            .into(),
        ),
        (
            "vnp_ReturnUrl",
            format!("{}/pay/return", state.config.public_url),
        ),
        ("vnp_CreateDate", pay_stamp(now)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let signed = payment::signed(&secret(&state), params);
    Ok(Redirect::to(&format!(
        "{}?{}",
        state.config.payment_url,
        payment::query(&signed)
    ))
    .into_response())
}

/// What the provider said, applied once.
#[derive(Debug, PartialEq, Eq)]
pub enum Confirm {
    Paid(String),
    Failed(String),
    AlreadyDone(String),
    BadSignature,
    UnknownOrder,
    WrongAmount,
}

pub async fn confirm(state: &AppState, params: &BTreeMap<String, String>) -> AppResult<Confirm> {
    if !payment::verify(&secret(state), params) {
        return Ok(Confirm::BadSignature);
    }
    let txn = params.get("vnp_TxnRef").cloned().unwrap_or_default();
    let pay = match state.db.payment(&txn).await {
        Ok(p) => p,
        Err(StoreError::NotFound) => return Ok(Confirm::UnknownOrder),
        Err(e) => return Err(e.into()),
    };
    let d = state.db.dossier(&pay.dossier_id).await?;
    let code = d.code.clone().unwrap_or_default();
    if params.get("vnp_Amount").and_then(|a| a.parse::<i64>().ok()) != Some(pay.amount * 100) {
        return Ok(Confirm::WrongAmount);
    }
    if pay.status == "paid" && d.state == "payment" && !d.fee_paid_online {
        // Paid, but the dossier did not move on (an officer acted at the same instant, or
        // an earlier version recorded the two apart): a retried confirmation repairs it.
        let req = ActionRequest {
            action: "pay".into(),
            reason: Some(format!(
                "{} ({})",
                pay.receipt_no.clone().unwrap_or_default(),
                pay.provider_ref.clone().unwrap_or_default()
            )),
            ..Default::default()
        };
        return match service::act(
            state,
            OffsetDateTime::now_utc(),
            &system(),
            &code,
            &req,
            vec![],
        )
        .await
        {
            Ok(_) => Ok(Confirm::Paid(code)),
            Err(e) if e.status == axum::http::StatusCode::CONFLICT => {
                Ok(Confirm::AlreadyDone(code))
            }
            Err(e) => Err(e),
        };
    }
    if pay.status != "pending" {
        return Ok(Confirm::AlreadyDone(code));
    }
    if params.get("vnp_ResponseCode").map(String::as_str) != Some("00") {
        let mut tx = state.db.begin().await?;
        cityhall_db::tx!(&mut tx, |c| sqlx::query(
            "UPDATE payments SET status = 'failed' WHERE id = $1 AND status = 'pending'"
        )
        .bind(&txn)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
        .map_err(cityhall_db::StoreError::from)?;
        tx.commit().await?;
        return Ok(Confirm::Failed(code));
    }
    let now = OffsetDateTime::now_utc();
    let provider_ref = params.get("vnp_TransactionNo").cloned().unwrap_or_default();
    let receipt = format!(
        "BL-{}-{}",
        &pay_stamp(now)[2..8],
        &txn[txn.len().saturating_sub(8)..].to_uppercase()
    );
    let req = ActionRequest {
        action: "pay".into(),
        reason: Some(format!("{receipt} ({provider_ref})")),
        payment: Some(PaymentConfirmation {
            txn: txn.clone(),
            provider_ref: provider_ref.clone(),
            receipt: receipt.clone(),
        }),
        ..Default::default()
    };
    match service::act(state, now, &system(), &code, &req, vec![]).await {
        Ok(_) => Ok(Confirm::Paid(code)),
        // A retried or racing confirmation, or a dossier no longer waiting for the fee
        // (withdrawn or stopped meanwhile): the money is recorded all the same, once.
        Err(e) if e.status == axum::http::StatusCode::CONFLICT => {
            let mut tx = state.db.begin().await?;
            Db::mark_paid(&mut tx, &txn, &provider_ref, &receipt, micros(now)).await?;
            tx.commit().await?;
            Ok(Confirm::AlreadyDone(code))
        }
        Err(e) => Err(e),
    }
}

fn system() -> ActorRef {
    ActorRef {
        user_id: "payment".into(),
        kind: Actor::System,
        agencies: vec![],
    }
}

/// The provider's server-to-server confirmation; answers in VNPay's codes.
async fn ipn(
    State(state): State<AppState>,
    Query(params): Query<BTreeMap<String, String>>,
) -> AppResult<Response> {
    let (code, msg) = match confirm(&state, &params).await? {
        Confirm::Paid(_) | Confirm::Failed(_) => ("00", "Confirm Success"),
        Confirm::AlreadyDone(_) => ("02", "Order already confirmed"),
        Confirm::BadSignature => ("97", "Invalid signature"),
        Confirm::UnknownOrder => ("01", "Order not found"),
        Confirm::WrongAmount => ("04", "Invalid amount"),
    };
    Ok(Json(serde_json::json!({"RspCode": code, "Message": msg})).into_response())
}

/// Where the provider sends the resident back.
async fn return_page(
    State(state): State<AppState>,
    Query(params): Query<BTreeMap<String, String>>,
) -> AppResult<Response> {
    match confirm(&state, &params).await? {
        Confirm::Paid(code) => {
            Ok(Redirect::to(&format!("/dossiers/{code}?paid=1")).into_response())
        }
        Confirm::AlreadyDone(code) => {
            let d = state.db.dossier_by_code(&code).await?;
            let ok = if d.fee_paid_online { "1" } else { "0" };
            Ok(Redirect::to(&format!("/dossiers/{code}?paid={ok}")).into_response())
        }
        Confirm::Failed(code) => {
            Ok(Redirect::to(&format!("/dossiers/{code}?paid=0")).into_response())
        }
        _ => Err(AppError::bad_request("err-pay-signature")),
    }
}

#[derive(Template)]
#[template(path = "pay_sandbox.html")]
struct SandboxPage<'a> {
    p: &'a PageCtx,
    amount: String,
    info: String,
    params: Vec<(String, String)>,
}

/// The sandbox provider's payment page.
async fn sandbox_page(
    State(state): State<AppState>,
    p: PageCtx,
    Query(params): Query<BTreeMap<String, String>>,
) -> AppResult<Response> {
    if !state.config.payment_sandbox {
        return Err(AppError::not_found());
    }
    if !payment::verify(&secret(&state), &params) {
        return Err(AppError::bad_request("err-pay-signature"));
    }
    let amount = params
        .get("vnp_Amount")
        .and_then(|a| a.parse::<i64>().ok())
        .unwrap_or(0)
        / 100;
    render(&SandboxPage {
        p: &p,
        amount: cityhall_core::dossier::format_dong(amount),
        info: params.get("vnp_OrderInfo").cloned().unwrap_or_default(),
        params: params.into_iter().collect(),
    })
}

/// The sandbox's "pay" or "cancel": confirms (as the provider's server would) and sends the
/// resident back with signed parameters.
async fn sandbox_submit(
    State(state): State<AppState>,
    CsrfForm(form): CsrfForm<BTreeMap<String, String>>,
) -> AppResult<Response> {
    if !state.config.payment_sandbox {
        return Err(AppError::not_found());
    }
    let mut request: BTreeMap<String, String> = form
        .iter()
        .filter(|(k, _)| k.starts_with("vnp_"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !payment::verify(&secret(&state), &request) {
        return Err(AppError::bad_request("err-pay-signature"));
    }
    let paid = form.get("choice").map(String::as_str) == Some("pay");
    let now = OffsetDateTime::now_utc();
    request.remove(payment::HASH_PARAM);
    let result: BTreeMap<String, String> = [
        ("vnp_TmnCode", TMN_CODE.to_string()),
        (
            "vnp_Amount",
            request.get("vnp_Amount").cloned().unwrap_or_default(),
        ),
        (
            "vnp_TxnRef",
            request.get("vnp_TxnRef").cloned().unwrap_or_default(),
        ),
        (
            "vnp_OrderInfo",
            request.get("vnp_OrderInfo").cloned().unwrap_or_default(),
        ),
        ("vnp_BankCode", "SANDBOX".into()),
        ("vnp_ResponseCode", if paid { "00" } else { "24" }.into()),
        (
            "vnp_TransactionStatus",
            if paid { "00" } else { "02" }.into(),
        ),
        (
            "vnp_TransactionNo",
            format!("{}", now.unix_timestamp_nanos() % 100_000_000),
        ),
        ("vnp_PayDate", pay_stamp(now)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let signed = payment::signed(&secret(&state), result);
    // The provider confirms to the merchant's server before sending the resident back.
    confirm(&state, &signed).await?;
    let back = request
        .get("vnp_ReturnUrl")
        .cloned()
        .unwrap_or_else(|| "/pay/return".into());
    let back = back
        .strip_prefix(&state.config.public_url)
        .unwrap_or(&back)
        .to_string();
    let back = if back.starts_with('/') {
        back
    } else {
        "/pay/return".into()
    };
    Ok(Redirect::to(&format!("{back}?{}", payment::query(&signed))).into_response())
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dossiers/{code}/pay", post(start))
        .route("/pay/ipn", get(ipn))
        .route("/pay/return", get(return_page))
        .route("/pay/sandbox", get(sandbox_page).post(sandbox_submit))
}
