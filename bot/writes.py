"""Named writes (rendered when sent) and what to do with GitHub's answers."""

from bot import award_review, evaluation_issue, late_proposals, opportunities, payments

PREPARERS = {
    opportunities.SUMMARY: opportunities.prepare_summary,
    evaluation_issue.KIND: evaluation_issue.prepare,
    evaluation_issue.CLOSING: evaluation_issue.prepare_closing,
    late_proposals.KIND: late_proposals.prepare,
    award_review.KIND: award_review.prepare,
    award_review.CLOSING: award_review.prepare_closing,
    payments.PULL_REQUEST_COMMENT: payments.prepare_pull_request_comment,
}

FOLLOWS = {
    "remember_summary": opportunities.remember_summary,
    "remember_problems": opportunities.remember_problems,
    "remember_evaluation_issue": evaluation_issue.remember,
    "remember_review_issue": award_review.remember,
    "remember_pull_request_comment": payments.remember_pull_request_comment,
}
