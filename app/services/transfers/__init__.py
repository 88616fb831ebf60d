"""Cross-border transfers between national referral mechanisms (issue 17; docs/transfers.md).

- `peers`: the registry of peer instances (`nrm peers add|list|remove`), audited;
- `sending`: send a case to a peer (`TransferRequest`, `send_transfer`): checked, packaged, sealed, signed and
  put in the outbox in one transaction;
- `delivery`: the outbox and its delivery by `nrm worker` (`deliver_due`, through a `Courier`: `HttpCourier`);
- `inbox`: a message from a peer (`receive`): a package kept for a coordinator, or a receipt that closes our
  case as `transferred`; everything else refused with a code and audited;
- `receiving`: read a received package (purpose code, audited), accept it (`accept_transfer`: a case here) or
  refuse it (`refuse_transfer`), each answered with a signed receipt;
- `package`: what a package holds (one definition for both sides) and how a received one is kept;
- `views`: `TransferView` and the read-only lists.

The entrances (API, web pages, command line, worker) call the names re-exported here.
"""

from app.services.transfers.delivery import Answer, Courier, DeliveryReport, HttpCourier, deliver_due
from app.services.transfers.inbox import InboxAnswer, InboxRefusal, purge_seen, receive, refuse_too_large
from app.services.transfers.package import PackageSummary
from app.services.transfers.peers import PeerView, add_peer, list_peers, read_line, remove_peer
from app.services.transfers.receiving import (
    AcceptInput,
    AcceptResult,
    PackageContent,
    ReceivedDocument,
    RefuseInput,
    accept_transfer,
    read_package,
    read_package_document,
    refuse_transfer,
)
from app.services.transfers.sending import ConsentInput, SendResult, TransferRequest, send_transfer
from app.services.transfers.views import (
    DeliveryView,
    TransferDirection,
    TransferState,
    TransferView,
    get_transfer,
    list_transfers,
)

__all__ = [
    "AcceptInput",
    "AcceptResult",
    "Answer",
    "ConsentInput",
    "Courier",
    "DeliveryReport",
    "DeliveryView",
    "HttpCourier",
    "InboxAnswer",
    "InboxRefusal",
    "PackageContent",
    "PackageSummary",
    "PeerView",
    "ReceivedDocument",
    "RefuseInput",
    "SendResult",
    "TransferDirection",
    "TransferRequest",
    "TransferState",
    "TransferView",
    "accept_transfer",
    "add_peer",
    "deliver_due",
    "get_transfer",
    "list_peers",
    "list_transfers",
    "purge_seen",
    "read_line",
    "read_package",
    "read_package_document",
    "receive",
    "refuse_too_large",
    "refuse_transfer",
    "remove_peer",
    "send_transfer",
]
