"""Writes the labeled transaction data set: training/data/{train,validation,test}.csv.

    python -m training.generate_data

Deterministic (fixed seed): the same catalog always gives the same files. Every line is a
merchant's name (training/catalog.py) in one of the statement formats banks in that merchant's
country print: card purchases with store numbers and cities, card-network fixed-width fields,
online and wallet payments, direct debits (DD, ACH, SEPA, NACH, BPAY, Autogiro ...), incoming
credits, P2P and ATM lines, and casual notes typed into budgeting apps. The split is by merchant
group, about 70/15/15 per label, so no merchant (or near-duplicate of one) is in two splits.
"""

from __future__ import annotations

import csv
import itertools
import random
import re
import sys
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path


from training import catalog
from training.common import DATA_DIR, FIELDS, LABELS, SPLITS, SEED

LINES_PER_LABEL = 680
MIN_GENERATED_LINES = 640
# Share of (non-key) named merchants that also get one line in a statement format.
FORMATTED_SHARE = 0.06
# Generated merchants (and notes) go round this cycle, pattern by pattern: every pattern is
# trained on, and its other merchants are held out. Named merchants are all in train.
SPLIT_CYCLE = ("train", "validation", "test", "train")


@dataclass(frozen=True)
class Region:
    lang: str  # which family of statement formats its banks print
    cc: str
    currency: str
    cities: tuple[tuple[str, str], ...]  # (city, state/province code or "")
    banks: tuple[str, ...]
    weight: float  # how often a global (ANY) brand is seen from here


def _cities(spec: str) -> tuple[tuple[str, str], ...]:
    """'NEW YORK NY, AUSTIN TX' -> (('NEW YORK', 'NY'), ...) where the last word is an upper-case
    code of 2-3 letters; otherwise the whole item is the city."""
    result = []
    for item in spec.split(","):
        words = item.split()
        if len(words) > 1 and re.fullmatch(r"[A-Z]{2,3}", words[-1]):
            result.append((" ".join(words[:-1]), words[-1]))
        else:
            result.append((" ".join(words), ""))
    return tuple(result)


def _region(lang, cc, currency, cities, banks, weight):
    return Region(lang, cc, currency, _cities(cities), tuple(b.strip() for b in banks.split(",")), weight)


REGIONS = {
    "UK": _region("en_gb", "GB", "GBP", "LONDON, MANCHESTER, BIRMINGHAM, LEEDS, GLASGOW, EDINBURGH, BRISTOL, CARDIFF, "
                  "LIVERPOOL, NOTTINGHAM, SHEFFIELD, BRIGHTON, OXFORD, CAMBRIDGE, READING, YORK, LEICESTER, "
                  "NEWCASTLE, BELFAST, MILTON KEYNES, CROYDON, SOUTHAMPTON",
                  "HSBC, BARCLAYS, LLOYDS BANK, NATWEST, SANTANDER, HALIFAX, TSB", 3.0),
    "US": _region("en_us", "US", "USD", "NEW YORK NY, BROOKLYN NY, LOS ANGELES CA, SAN FRANCISCO CA, SAN JOSE CA, "
                  "SEATTLE WA, CHICAGO IL, HOUSTON TX, DALLAS TX, AUSTIN TX, PHOENIX AZ, DENVER CO, BOSTON MA, "
                  "ATLANTA GA, MIAMI FL, ORLANDO FL, PORTLAND OR, MINNEAPOLIS MN, DETROIT MI, NASHVILLE TN, "
                  "CHARLOTTE NC, COLUMBUS OH, LAS VEGAS NV, SALT LAKE CTY UT, PITTSBURGH PA, BALTIMORE MD, "
                  "RALEIGH NC, KANSAS CITY MO, SAN DIEGO CA, SACRAMENTO CA, NEWARK NJ, JERSEY CITY NJ",
                  "CHASE, BANK OF AMERICA, WELLS FARGO, CITIBANK, PNC, US BANK, TD BANK", 3.5),
    "CA": _region("en_ca", "CA", "CAD", "TORONTO ON, VANCOUVER BC, MONTREAL QC, CALGARY AB, OTTAWA ON, EDMONTON AB, "
                  "WINNIPEG MB, HALIFAX NS, VICTORIA BC, MISSISSAUGA ON",
                  "RBC, TD CANADA TRUST, SCOTIABANK, BMO, CIBC", 1.2),
    "AU": _region("en_au", "AU", "AUD", "SYDNEY NSW, MELBOURNE VIC, BRISBANE QLD, PERTH WA, ADELAIDE SA, "
                  "CANBERRA ACT, HOBART TAS, GOLD COAST QLD, PARRAMATTA NSW, GEELONG VIC",
                  "CBA, WESTPAC, ANZ, NAB", 1.2),
    "IN": _region("en_in", "IN", "INR", "MUMBAI, BENGALURU, NEW DELHI, GURGAON, HYDERABAD, CHENNAI, PUNE, KOLKATA, "
                  "NOIDA, AHMEDABAD, JAIPUR, KOCHI",
                  "SBI, HDFC BANK, ICICI BANK, AXIS BANK, KOTAK", 1.5),
    "DE": _region("de", "DE", "EUR", "BERLIN, MUENCHEN, HAMBURG, KOELN, FRANKFURT, STUTTGART, LEIPZIG, DRESDEN, "
                  "HANNOVER, NUERNBERG, BREMEN, BONN, MANNHEIM, FREIBURG",
                  "SPARKASSE, DEUTSCHE BANK, COMMERZBANK, VOLKSBANK, POSTBANK", 1.5),
    "FR": _region("fr", "FR", "EUR", "PARIS, LYON, MARSEILLE, TOULOUSE, NICE, NANTES, BORDEAUX, LILLE, STRASBOURG, "
                  "RENNES, MONTPELLIER, GRENOBLE",
                  "SOCIETE GENERALE, CREDIT AGRICOLE, LCL, CIC, LA BANQUE POSTALE", 1.2),
    "ES": _region("es", "ES", "EUR", "MADRID, BARCELONA, VALENCIA, SEVILLA, MALAGA, BILBAO, ZARAGOZA, PALMA, "
                  "ALICANTE, GRANADA",
                  "SANTANDER, BBVA, CAIXABANK, SABADELL, BANKINTER", 1.0),
    "IT": _region("it", "IT", "EUR", "ROMA, MILANO, NAPOLI, TORINO, FIRENZE, BOLOGNA, VENEZIA, GENOVA, PALERMO, VERONA",
                  "INTESA SANPAOLO, UNICREDIT, BPER, BANCO BPM", 1.0),
    "NL": _region("nl", "NL", "EUR", "AMSTERDAM, ROTTERDAM, UTRECHT, DEN HAAG, EINDHOVEN, GRONINGEN, LEIDEN, HAARLEM",
                  "ING, ABN AMRO, RABOBANK", 0.8),
    "PL": _region("pl", "PL", "PLN", "WARSZAWA, KRAKOW, WROCLAW, POZNAN, GDANSK, LODZ, KATOWICE, LUBLIN",
                  "PKO BP, PEKAO, MBANK, SANTANDER BANK POLSKA", 0.7),
    "SE": _region("sv", "SE", "SEK", "STOCKHOLM, GOTEBORG, MALMO, UPPSALA, LUND, VASTERAS, OREBRO",
                  "SWEDBANK, SEB, HANDELSBANKEN, NORDEA", 0.7),
    "MX": _region("es_latam", "MX", "MXN", "CIUDAD DE MEXICO, GUADALAJARA, MONTERREY, PUEBLA, CANCUN",
                  "BBVA MEXICO, BANORTE, BANAMEX", 0.6),
    "BR": _region("pt_br", "BR", "BRL", "SAO PAULO, RIO DE JANEIRO, BELO HORIZONTE, CURITIBA, PORTO ALEGRE, RECIFE",
                  "ITAU, BRADESCO, BANCO DO BRASIL, CAIXA", 0.6),
    "AR": _region("es_latam", "AR", "ARS", "BUENOS AIRES, CORDOBA, ROSARIO, MENDOZA", "BANCO GALICIA, BANCO NACION", 0.3),
    "CO": _region("es_latam", "CO", "COP", "BOGOTA, MEDELLIN, CALI, BARRANQUILLA", "BANCOLOMBIA, DAVIVIENDA", 0.3),
    "CL": _region("es_latam", "CL", "CLP", "SANTIAGO, VALPARAISO, CONCEPCION", "BANCO DE CHILE, BANCOESTADO", 0.3),
    "SG": _region("asia", "SG", "SGD", "SINGAPORE", "DBS, OCBC, UOB", 0.7),
    "MY": _region("asia", "MY", "MYR", "KUALA LUMPUR, PETALING JAYA, PENANG", "MAYBANK, CIMB", 0.3),
    "JP": _region("asia", "JP", "JPY", "TOKYO, OSAKA, KYOTO, YOKOHAMA, FUKUOKA", "MUFG, SMBC, MIZUHO", 0.4),
    "HK": _region("asia", "HK", "HKD", "HONG KONG, KOWLOON", "HANG SENG, BOC HK", 0.3),
    "PH": _region("asia", "PH", "PHP", "MANILA, MAKATI, CEBU", "BDO, BPI", 0.3),
    "TH": _region("asia", "TH", "THB", "BANGKOK, PHUKET, CHIANG MAI", "KASIKORNBANK, SCB", 0.2),
    "ID": _region("asia", "ID", "IDR", "JAKARTA, SURABAYA, BALI", "BCA, MANDIRI", 0.2),
    "KR": _region("asia", "KR", "KRW", "SEOUL, BUSAN, INCHEON", "KB KOOKMIN, SHINHAN", 0.2),
    "AE": _region("asia", "AE", "AED", "DUBAI, ABU DHABI, SHARJAH", "EMIRATES NBD, ADCB", 0.3),
}

def _formats(block: str) -> list[str]:
    return [f.strip() for line in block.strip().splitlines() for f in line.split(" | ") if f.strip()]


# Statement formats, by the kind of merchant and the bank's country. {M} is the merchant name;
# the other {slots} are filled per line (see Line.fill).
CARD_ANY = """{M} {store} {CITY} {cc} | {M} #{store} {CITY} {st} | {M} {CITY} | {M} | {M} {store} | {FIXED} | {FIXED}
POS {card4} {M} {CITY} | POS PURCHASE {M} {CITY} {st} | VIS {dm} {M} {CITY} | {M} {CITY} {date} {amt}
CONTACTLESS {M} {CITY} | APPLE PAY {M} {CITY} | GOOGLE PAY {M} | VISA DEBIT {M} {CITY} {cc} | MC {M} {CITY}
DEBIT CARD PURCHASE {M} {CITY} {st} | CARD {card4} {M} {CITY} {cc} | {M} {CITY} {cc} {amt} | {M} {amt}"""
CARD_SMALL = """SQ *{M} {CITY} {st} | SQ *{M} | TST* {M} {CITY} | SUMUP *{M} {CITY} | ZETTLE_*{M} | IZ *{M}"""
CARD = {
    "en_gb": """CARD PAYMENT TO {M} ON {dmy} | {M} {CITY} GB | {M} {CITY} {dmy} CD {card4}
CARD PAYMENT TO {M},{amt}, RATE 1.00/GBP ON {dmy} | POS {card4} {dm} {M} {CITY} | {M} {CITY} GBR""",
    "en_us": """POS DEBIT {M} {store} {CITY} {st} | DBT CRD {time} {dm} {M} {CITY} {st} C#{card4}
PURCHASE {dm} {M} {CITY} {st} CARD {card4} | {M} {store} {CITY} {st} {dm} | POS W/D {M} {CITY} {st}
RECURRING DEBIT {M} {CITY} {st}""",
    "en_ca": """POS MERCHANDISE {M} {CITY} | VISA DEBIT PUR {M} {CITY} {st} | {M} #{store} {CITY} {st}
POS PURCHASE {M} {CITY} {st} {dm}""",
    "en_au": """VISA PURCHASE {M} {CITY} AU | {M} {CITY} {st} AUS Card xx{card4} | Visa Debit Purchase Card {card4} {M} {CITY}
{M} {CITY} AU {dm}""",
    "en_in": """POS {card} {M} {CITY} | UPI/P2M/{ref12}/{M} | UPI-{M}-{vpa}-{ifsc}-{ref12}-UPI | PCD/{card4}/{M}/{CITY}
POS/{M}/{CITY}/{dmy}""",
    "de": """Kartenzahlung {M} {CITY} | {M} {CITY} DE {dmy} | KARTENZAHLUNG {dmy} {M}//{CITY}/DE | VISA {M} {CITY}
{M} SAGT DANKE {ref} | EC {M} {CITY} | Kartenzahlung/Debitkarte {M} {CITY}""",
    "fr": """CB {M} {dm} | CB {M} {CITY} {dm} | CARTE X{card4} {dm} {M} | PAIEMENT CB {dm} {CITY} {M}
FACTURE CARTE DU {dm} {M} {CITY} CARTE {card4}""",
    "es": """COMPRA TARJ. {card4} {M} {CITY} | COMPRA EN {M}, CON LA TARJETA : {card} EL {ymd} | PAGO MOVIL EN {M} {CITY}
COMPRA TARJETA {M}""",
    "it": """ACQUISTO CARTA {card4} {M} {CITY} | OPERAZIONE VISA {M} {CITY} | PAG. CARTA {dm} {M}""",
    "nl": """BEA, Betaalpas {M},PAS{n} NR:{REF} {dm} {CITY} | BEA NR:{REF} {dm} {M} {CITY} | {M} {CITY} NLD""",
    "pl": """ZAKUP PRZY UŻYCIU KARTY {M} {CITY} | TRANSAKCJA KARTĄ {M} {CITY} PL | {M} {CITY} POL""",
    "sv": """KORT {dm} {M} | {M} {CITY} SE | KORTBETALNING {M} {CITY}""",
    "es_latam": """COMPRA {M} {CITY} | COMPRA POS {M} {CITY} | PAGO TARJETA {M} | MERPAGO*{M}
COMPRA CON TARJETA DEBITO {M} {CITY}""",
    "pt_br": """COMPRA CARTAO DEB MC {dm} {M} | COMPRA NO CARTAO {M} {CITY} | PAG*{M} | {M} {CITY} BRA""",
    "asia": """NETS {M} | {M} {CITY} {cc} | POS {M} {CITY} | NETS QR {M} | VISA {M} {CITY} {cc}""",
}
ONLINE_ANY = """{M} | {M} {url} | {M} {phone} {st} | {M}*{REF} | PAYPAL *{MC} | PAYPAL *{M} | {M} {url} {cc}
CARD PAYMENT TO {M} | VIS {dm} {M} | INTERNET PURCHASE {M} | RECURRING PAYMENT {M} | {M} ONLINE {cc}
APPLE PAY {M} | {M} {amt} | {M} {phone} | {FIXED} | DEBIT CARD PURCHASE {M} {url} | {M} {dm} {amt}
{M} SUBSCRIPTION | {M} MONTHLY PLAN | {M} ANNUAL RENEWAL | {M} ORDER {REF}"""
DEBIT_ANY = """{M} {ref} | {M} | {M} BILL PAYMENT | {M} PAYMENT {ref} | {M} {MON} {amt} | {M} MONTHLY
{M} MEMBERSHIP | {M} MONTHLY MEMBERSHIP | {M} SUBSCRIPTION | {M} MONTHLY FEE | {M} ANNUAL FEE {ref}"""
DEBIT = {
    "en_gb": """DD {M} {ref} | DIRECT DEBIT {M} {ref} | {M} DDR | DIRECT DEBIT PAYMENT TO {M} REF {REF}, MANDATE NO {n}
{M} {REF} DDR | D/D {M} | DIRECT DEBIT {M} {REF}""",
    "en_us": """ACH DEBIT {M} {ref} | {M} AUTOPAY {ref} | {M} ONLINE PMT {ref} | {M} BILL PAY | ACH WITHDRAWAL {M} PAYMENT
{M} PAYMENT {ref} WEB ID: {id10} | {M} DES:BILL PAY ID:{ref} INDN:{NAME} CO ID:{id10} PPD
ORIG CO NAME:{M} ORIG ID:{id10} DESC DATE:{ymd} CO ENTRY DESCR:PAYMENT SEC:PPD""",
    "en_ca": """PRE-AUTH DEBIT {M} | PAD {M} {ref} | BILL PAYMENT {M} | MISC PAYMENT {M} | {M} PREAUTH PMT""",
    "en_au": """DIRECT DEBIT {ref} {M} | BPAY {M} {ref} | {M} DIRECT DEBIT {REF} | {M} DD {ref}""",
    "en_in": """ACH D- {M}-{ref} | NACH DR {M} {ref} | BIL/BPAY/{ref}/{M} | BBPS/{M}/{ref} | UPI/P2M/{ref12}/{M}/bill""",
    "de": """SEPA-LASTSCHRIFT {M} {REF} | SEPA Basislastschrift {M} Mandat {REF} | FOLGELASTSCHRIFT {M} MREF {REF}
SEPA-LASTSCHRIFT {M} Kd-Nr. {ref}""",
    "fr": """PRLV SEPA {M} {REF} | PRLV SEPA {M} : ECH/{dmy} ID EMETTEUR/{REF} MDT/{REF} | PRLV {M} {ref}""",
    "es": """RECIBO {M} Nº RECIBO {ref} | ADEUDO SEPA {M} | RECIBO DOMICILIADO {M} {ref} | CARGO RECIBO {M}""",
    "it": """ADDEBITO DIRETTO {M} CID.{REF} | ADDEBITO SEPA DD {M} {ref} | PAGAMENTO UTENZE {M}""",
    "nl": """Incasso {M} machtiging {REF} | SEPA Incasso algemeen doorlopend Naam: {M} Machtiging: {REF}
{M} INCASSO {ref}""",
    "pl": """POLECENIE ZAPŁATY {M} {ref} | PRZELEW DO {M} TYTUŁ: FAKTURA {REF} | OPŁATA {M} {ref}""",
    "sv": """AUTOGIRO {M} | BG {bg} {M} | E-FAKTURA {M} {ref}""",
    "es_latam": """PAGO SERVICIO {M} | DEBITO AUTOMATICO {M} {ref} | DOMICILIACION {M} | PAGO DE SERVICIOS {M} REF {ref}""",
    "pt_br": """DEB AUT {M} | PAGTO CONTA {M} | DEBITO AUTOMATICO {M} | PAGAMENTO BOLETO {M}""",
    "asia": """GIRO {M} {ref} | BILL PAYMENT {M} {ref} | IBG {M} | AUTO-DEBIT {M}""",
}
CREDIT_ANY = """{M} | {M} {ref} | CREDIT {M} | {M} {MON} | {M} {amt}"""
CREDIT = {
    "en_gb": """BGC {M} {ref} | BANK GIRO CREDIT REF {M} | FPS CREDIT {M} {REF} | FASTER PAYMENT RECEIVED FROM {M} REF {REF}
CREDIT FROM {M} | {M} BGC | BACS {M}""",
    "en_us": """ACH CREDIT {M} {ref} | DIRECT DEP {M} | {M} DIR DEP {ref} PPD | DEPOSIT {M} {ref} | ELECTRONIC DEPOSIT {M}
{M} DES:PAYROLL ID:{ref} INDN:{NAME} CO ID:{id10} PPD | ORIG CO NAME:{M} CO ENTRY DESCR:PAYROLL SEC:PPD""",
    "en_ca": """PAYROLL DEP {M} | DEPOSIT {M} | DIRECT DEPOSIT {M} {ref}""",
    "en_au": """DEPOSIT {M} {ref} | {M} PAY {ref} | OSKO DEPOSIT FROM {M} | TRANSFER FROM {M}""",
    "en_in": """NEFT CR-{ifsc}-{M}-{REF} | IMPS/P2A/{ref12}/{M} | BY TRANSFER-NEFT*{ifsc}*{ref}*{M} | RTGS CR-{M}-{REF}""",
    "de": """SEPA-GUTSCHRIFT {M} {REF} | GUTSCHRIFT UEBERWEISUNG {M} | Überweisungsgutschrift {M} {REF}
SEPA-Überweisung von {M}""",
    "fr": """VIR SEPA {M} {REF} | VIREMENT RECU {M} | VIR INST {M}""",
    "es": """TRANSFERENCIA DE {M} {REF} | TRANSF. A FAVOR {M} | ABONO {M} | TRANSFERENCIA RECIBIDA {M}""",
    "it": """BONIFICO A VOSTRO FAVORE {M} | BONIFICO DA {M} {REF} | ACCREDITO {M}""",
    "nl": """Overboeking van {M} {REF} | SEPA Overboeking Naam: {M} Omschrijving: {REF} | {M} BIJSCHRIJVING""",
    "pl": """PRZELEW PRZYCHODZĄCY {M} {REF} | WPŁYW {M} | UZNANIE {M}""",
    "sv": """INSÄTTNING {M} | ÖVERFÖRING FRÅN {M} | {M} {ref}""",
    "es_latam": """TRANSFERENCIA RECIBIDA {M} | SPEI RECIBIDO {M} | DEPOSITO {M} | ABONO {M}""",
    "pt_br": """PIX RECEBIDO {M} | TED RECEBIDA {M} | CREDITO {M}""",
    "asia": """GIRO CREDIT {M} | FAST PAYMENT FROM {M} | IBG CREDIT {M} | INWARD TT {M}""",
}
# Tradespeople and landlords are paid by card, bill payment or bank transfer alike.
PAYEE_ANY = """BILL PAYMENT TO {M} REF {REF} | {M} INVOICE {n} | TRANSFER TO {M} | {M} | {M} {ref} | {M} {CITY}
CARD PAYMENT TO {M} | {M} {CITY} {cc} {amt} | POS {card4} {M} {CITY} | ONLINE PAYMENT TO {M} | {M} INV {ref}"""
PAYEE = {
    "en_gb": """FPS TO {M} REF {REF} | BILL PAYMENT TO {M} REF INV{n} | {M} FASTER PAYMENT | TFR TO {M} | SO {M}""",
    "en_us": """ZELLE TO {M} | CHECK {n} {M} | BILL PAY {M} | ONLINE PAYMENT TO {M} {ref} | VENMO *{M}""",
    "en_ca": """BILL PAYMENT {M} | SEND MONEY {M} | CHEQUE {n} {M}""",
    "en_au": """OSKO PAYMENT TO {M} INV {n} | TRANSFER TO {M} | BPAY {M} {ref}""",
    "en_in": """UPI/P2M/{ref12}/{M} | IMPS/P2A/{ref12}/{M} | NEFT TO {M} INV {n}""",
    "de": """SEPA-UEBERWEISUNG AN {M} RECHNUNG {ref} | UEBERWEISUNG {M} RE-NR {ref} | DAUERAUFTRAG {M}""",
    "fr": """VIR SEPA {M} FACTURE {ref} | VIREMENT A {M} | VIR INST VERS {M}""",
    "es": """TRANSFERENCIA A {M} FACTURA {ref} | TRANSFERENCIA INMEDIATA {M} | TRANSF. {M}""",
    "it": """BONIFICO A {M} FATTURA {ref} | BONIFICO SEPA {M}""",
    "nl": """OVERBOEKING NAAR {M} FACTUUR {ref} | IDEAL {M} {ref}""",
    "pl": """PRZELEW DO {M} FAKTURA {REF} | PRZELEW {M} {ref}""",
    "sv": """BG {bg} {M} | ÖVERFÖRING {M} FAKTURA {ref}""",
    "es_latam": """TRANSFERENCIA A {M} | SPEI A {M} {ref} | PAGO A {M}""",
    "pt_br": """PIX ENVIADO {M} | TED {M} | PAGAMENTO {M}""",
    "asia": """PAYNOW TO {M} | GIRO {M} {ref} | FAST TRANSFER {M}""",
}
# Legal forms appear after merchant names of every kind (not only employers paying salaries).
LEGAL_FORMS = {
    "en_gb": ("LTD", "PLC", "LIMITED"), "en_us": ("INC", "LLC", "CORP", "CO"), "en_ca": ("INC", "LTD"),
    "en_au": ("PTY LTD",), "en_in": ("PVT LTD", "LIMITED"), "de": ("GMBH", "AG", "GMBH & CO KG", "E.K."),
    "fr": ("SAS", "SARL", "SA"), "es": ("SL", "SA", "S.L.U."), "it": ("SPA", "SRL", "S.R.L."),
    "nl": ("BV", "B.V.", "NV"), "pl": ("SP Z O.O.", "SA"), "sv": ("AB",), "es_latam": ("SA DE CV", "SAS", "LTDA"),
    "pt_br": ("LTDA", "S/A", "ME"), "asia": ("PTE LTD", "SDN BHD", "CO LTD", "KK"),
}
# Words banks put around descriptions in many languages: seen with every label, they carry no label.
NOISE_PREFIXES = _formats("""TRANSACTION | DEBIT | PURCHASE | PAYMENT | ONLINE | AUTH | PENDING | MOBILE | CARD PURCHASE
CARD TRANSACTION | POS TRANSACTION | ECOM | E-COMMERCE | INTL | FOREIGN TXN | NFC | VISA | MASTERCARD | MAESTRO
DEBIT MASTERCARD | AMEX | RUPAY | V PAY | SAMSUNG PAY | ZAHLUNG | UMSATZ | BUCHUNG | ELV | ACHAT | OPERATION
CARTE BANCAIRE | COMPRA | PAGO | CARGO | TPV | ACQUISTO | ADDEBITO | PINBETALING | BETAALAUTOMAAT | TRANSACTIE
TRANSAKCJA | TRANSAKCJA BEZGOTOWKOWA | TRANSAKTION | DANKORT | NETS | DEBITO | CREDITO | TXN | PMT | PYMT""")
NOISE_SUFFIXES = _formats("""AUTH {n} | REF:{REF} | TRACE {ref} | SEQ {n} | {cc} | ID {REF} | APPROVED | TXN {ref}
FX RATE 1.{n} | NON-STERLING FEE | VALUE DATE {dm} | {time} | CARD ENDING {card4}""")

NOTE_SUFFIXES = ("", "", "", " {amt_plain}", " - {day}", " {dm}")


FORMATS = {
    "store": (_formats(CARD_ANY + "\n" + CARD_SMALL), {k: _formats(v) for k, v in CARD.items()}),
    "online": (_formats(ONLINE_ANY), {}),
    "debit": (_formats(DEBIT_ANY), {k: _formats(v) for k, v in DEBIT.items()}),
    "credit": (_formats(CREDIT_ANY), {k: _formats(v) for k, v in CREDIT.items()}),
    "payee": (_formats(PAYEE_ANY), {k: _formats(v) for k, v in PAYEE.items()}),
}

# Fillers for <SLOT>s (once per composed merchant) and {slot}s (per line).
WORDS = {
    "en": "OAK, RIVERSIDE, GOLDEN, MAPLE, HIGHGATE, SUNRISE, NORTHSIDE, CORNER, VILLAGE, HARBOUR, CROWN, ROYAL, "
          "LITTLE, GREEN, SILVER, BLUE DOOR, PARKSIDE, MILL, ORCHARD, CEDAR, WILLOW, ASPEN, SUMMIT, PACIFIC, "
          "ATLANTIC, EMPIRE, CENTRAL, UNION, LIBERTY, HERITAGE, MERIDIAN, HORIZON, LOTUS, PEARL, STAR, MOON, "
          "LION, EAGLE, FALCON, PHOENIX, ATLAS, NOVA, ZENITH, BRIGHT, HAPPY, LUCKY, OLD TOWN, WEST END, "
          "EASTSIDE, SOUTHGATE, KINGS, QUEENS, CASTLE, BRIDGE, RIVER, LAKESIDE, HILLTOP, VALLEY, MEADOW, "
          "FOREST, OCEAN, BAYVIEW, COASTAL, ALPINE, URBAN, MODERN, CLASSIC, ELITE, ACORN, BEACON, COPPER, "
          "IVY, JUNIPER, MAGNOLIA, NORTHSTAR, REDWOOD, SAGE, THISTLE, WESTFIELD, BIRCH, FOXGLOVE, HARVEST",
    "de": "SONNE, LINDEN, ROSEN, STERN, EICHE, ALTSTADT, BRUNNEN, HAFEN, KRONE, ADLER, LOEWEN, NORD, SUED, "
          "MARKTPLATZ, SCHLOSS, BERG, WALD, RATHAUS, BAHNHOF, TOR",
    "fr": "SOLEIL, ETOILE, MARCHE, PONT NEUF, LILAS, VIEUX PORT, PLATANES, MOULIN, CHATEAU, JARDIN, REPUBLIQUE, "
          "BASTILLE, MONTMARTRE, PROVENCE, LOUVRE, CANAL",
    "es": "SOL, LUNA, ESTRELLA, PLAZA MAYOR, BELLA VISTA, DORADO, PALMA, EL PUERTO, LA ESQUINA, LOS ANDES, "
          "SAN JUAN, LA ROSA, EL FARO, CENTRO, NORTE, LA PAZ",
    "it": "SOLE, LUNA, STELLA, BELLA VISTA, DUOMO, PONTE, GIARDINO, CASTELLO, PORTA NUOVA, VERDE, AURORA, "
          "SAN MARCO, TRE FONTANE, BELVEDERE",
    "nl": "ZON, MOLEN, GRACHT, HAVEN, DAM, BRUG, TULP, OOST, WEST, NOORD, LINDE, DUIN",
    "pl": "SLONECZNY, ZLOTY, ROZANY, STARE MIASTO, POD LIPAMI, ORZEL, WISLA, KRAKOWSKI, ZIELONY",
    "sv": "SOL, ROS, HAMN, BJORK, LIND, EK, NORR, SODER, STJARNAN, GRAN",
    "in": "GANESH, LAKSHMI, SHREE, SAI, KRISHNA, BALAJI, ANAND, SAGAR, ROYAL, NEW, GOLDEN, SURYA, OM, VISHNU",
    "asia": "GOLDEN DRAGON, JADE, SAKURA, HANA, LUCKY, LOTUS, ORCHID, PEARL, BAMBOO, HAPPY, FORTUNE, PHOENIX",
}
WORD_FAMILY = {"en_gb": "en", "en_us": "en", "en_ca": "en", "en_au": "en", "en_in": "in", "de": "de", "fr": "fr",
               "es": "es", "es_latam": "es", "pt_br": "es", "it": "it", "nl": "nl", "pl": "pl", "sv": "sv",
               "asia": "asia"}
SURNAMES = {
    "en": "SMITH, JONES, TAYLOR, BROWN, WILSON, EVANS, THOMAS, JOHNSON, ROBERTS, WALKER, WRIGHT, THOMPSON, "
          "WHITE, HUGHES, EDWARDS, GREEN, HALL, WOOD, HARRIS, MARTIN, MILLER, DAVIS, GARCIA, RODRIGUEZ, "
          "ANDERSON, JACKSON, LEE, CLARK, LEWIS, YOUNG, ALLEN, KING, SCOTT, BAKER, ADAMS, NELSON, CAMPBELL, "
          "MITCHELL, CARTER, MURPHY, KELLY, O'BRIEN, MACDONALD, PATEL, KHAN, NGUYEN, CHEN, KIM",
    "de": "MUELLER, SCHMIDT, SCHNEIDER, FISCHER, WEBER, MEYER, WAGNER, BECKER, SCHULZ, HOFFMANN, KOCH, RICHTER, "
          "KLEIN, WOLF, SCHROEDER, NEUMANN, BRAUN, ZIMMERMANN, HARTMANN, LANGE",
    "fr": "MARTIN, BERNARD, DUBOIS, THOMAS, ROBERT, RICHARD, PETIT, DURAND, LEROY, MOREAU, SIMON, LAURENT, "
          "LEFEBVRE, MICHEL, GARNIER, FAURE, ROUSSEAU, BLANC",
    "es": "GARCIA, RODRIGUEZ, GONZALEZ, FERNANDEZ, LOPEZ, MARTINEZ, SANCHEZ, PEREZ, GOMEZ, MARTIN, JIMENEZ, "
          "RUIZ, HERNANDEZ, DIAZ, MORENO, ALVAREZ, ROMERO, SILVA, SANTOS, OLIVEIRA, SOUZA, PEREIRA",
    "it": "ROSSI, RUSSO, FERRARI, ESPOSITO, BIANCHI, ROMANO, COLOMBO, RICCI, MARINO, GRECO, BRUNO, GALLO, "
          "CONTI, DE LUCA, COSTA, GIORDANO",
    "nl": "DE JONG, JANSEN, DE VRIES, VAN DEN BERG, VAN DIJK, BAKKER, JANSSEN, VISSER, SMIT, MEIJER, DE BOER, "
          "MULDER, DE GROOT, BOS, VOS",
    "pl": "NOWAK, KOWALSKI, WISNIEWSKI, WOJCIK, KOWALCZYK, KAMINSKI, LEWANDOWSKI, ZIELINSKI, SZYMANSKI, WOZNIAK",
    "sv": "ANDERSSON, JOHANSSON, KARLSSON, NILSSON, ERIKSSON, LARSSON, OLSSON, PERSSON, SVENSSON, GUSTAFSSON",
    "in": "SHARMA, VERMA, PATEL, GUPTA, SINGH, KUMAR, REDDY, IYER, NAIR, MEHTA, JOSHI, DESAI, RAO, BANERJEE",
    "asia": "TAN, LIM, LEE, NG, WONG, CHAN, TANAKA, SATO, SUZUKI, KIM, PARK, CHOI, SANTOS, REYES, NGUYEN, TRAN",
}
FIRST_NAMES = {
    "en": "JOHN, SARAH, MICHAEL, EMMA, DAVID, OLIVIA, JAMES, SOPHIE, DANIEL, CHLOE, LIAM, AVA, NOAH, MIA, "
          "JACK, GRACE, TOM, LUCY, SAM, KATE, BEN, ELLA, RYAN, MEGAN, CHRIS, AMY, MATT, HANNAH, JOSH, RACHEL",
    "de": "LUKAS, ANNA, FELIX, LENA, JONAS, MARIE, PAUL, LEA, MAX, SOPHIA, TIM, JULIA",
    "fr": "LUCAS, CHLOE, HUGO, MANON, LOUIS, CAMILLE, JULES, INES, ARTHUR, LEA, THEO, CLARA",
    "es": "JOSE, MARIA, CARLOS, LUCIA, JAVIER, SOFIA, MIGUEL, VALENTINA, DIEGO, CAMILA, PEDRO, ANA, JOAO, BEATRIZ",
    "it": "MARCO, GIULIA, LUCA, CHIARA, ANDREA, FRANCESCA, MATTEO, SARA, ALESSANDRO, ELENA",
    "nl": "DAAN, EMMA, SEM, JULIA, LUUK, TESS, BRAM, FLEUR, JESSE, LOTTE",
    "pl": "PIOTR, KASIA, TOMASZ, AGNIESZKA, MARCIN, MAGDA, KRZYSZTOF, OLA, PAWEL, ZOFIA",
    "sv": "ERIK, ELSA, OSKAR, MAJA, LARS, INGRID, NILS, ASTRID, JOHAN, KARIN",
    "in": "RAHUL, PRIYA, AMIT, ANANYA, ROHAN, SNEHA, VIKRAM, POOJA, ARJUN, DIVYA, KARAN, NEHA, ADITYA, KAVYA",
    "asia": "WEI, MEI, JUN, YUKI, KENJI, HIRO, MIN, JI-HOON, SOO-AH, AIKO, DARREN, GRACE, JOSE, MARIA",
}
COMPANY_STEMS = ("ACME", "NORTHWIND", "GLOBEX", "INITECH", "VERTEX", "BLUEWAVE", "BRIGHTPATH", "CLEARVIEW",
                 "IRONBRIDGE", "KESTREL", "LUMEN", "NIMBUS", "OAKRIDGE", "PINNACLE", "QUANTA", "SILVERLINE",
                 "TRIDENT", "WESTBROOK", "ZEPHYR", "APEX", "CASCADE", "DYNAMO", "EVERGREEN", "FUSION")
COMPANY_NOUNS = ("", "", "", "TECHNOLOGIES", "LOGISTICS", "CONSULTING", "HOLDINGS", "SYSTEMS", "MEDIA",
                 "SOLUTIONS", "ANALYTICS", "ENGINEERING", "FOODS", "HEALTHCARE", "ENERGY", "TRAVEL", "RETAIL",
                 "CONSTRUCTION", "DESIGN", "PARTNERS", "LABS", "GROUP", "SOFTWARE", "MANUFACTURING")
TICKERS = ("AAPL", "MSFT", "VOD", "ULVR", "HSBA", "SAP", "ALV", "BAS", "INFY", "TCS", "RELIANCE", "BHP", "RY",
           "ENB", "VWRL", "VUSA", "KO", "PEP", "JNJ", "PG", "VTI", "SCHD", "NESN", "NOVN", "O", "T", "XOM", "ABBV")
BROKERS = ("VANGUARD", "FIDELITY", "SCHWAB", "TRADING 212", "DEGIRO", "TRADE REPUBLIC", "HARGREAVES LANSDOWN",
           "ROBINHOOD", "INTERACTIVE BROKERS", "ZERODHA", "COMMSEC", "WEALTHSIMPLE", "AVANZA", "NORDNET", "ETORO")
STREETS = ("HAUPTSTR", "BAHNHOFSTR", "GARTENSTR", "SCHILLERSTR", "GOETHESTR", "LINDENALLEE", "BERLINER STR")
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")
MONTHS_LOCAL = {
    "mon_de": ("januar", "februar", "maerz", "april", "mai", "juni", "juli", "august", "september", "oktober",
               "november", "dezember"),
    "mois": ("janvier", "fevrier", "mars", "avril", "mai", "juin", "juillet", "aout", "septembre", "octobre",
             "novembre", "decembre"),
    "mes": ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
            "noviembre", "diciembre"),
    "mese": ("gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre",
             "ottobre", "novembre", "dicembre"),
    "maand": ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
              "november", "december"),
}
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "sat", "fri", "weekend")
PSPS = ("okaxis", "ybl", "paytm", "icici", "hdfcbank", "oksbi", "axl", "ibl")
SYMBOLS = {"GBP": "£", "USD": "$", "EUR": "€", "INR": "Rs.", "AUD": "A$", "CAD": "C$"}


def _split_list(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())


WORDS = {family: _split_list(words) for family, words in WORDS.items()}
SURNAMES = {family: _split_list(names) for family, names in SURNAMES.items()}
FIRST_NAMES = {family: _split_list(names) for family, names in FIRST_NAMES.items()}


@dataclass(frozen=True)
class Merchant:
    """One merchant group: its spellings, how it is paid, where it is seen, and its label."""

    label: str
    kind: str  # store | online | debit | credit | payee | raw | note
    regions: tuple[str, ...]
    spellings: tuple[str, ...]
    named: bool  # from the catalog (always trained on) rather than generated
    key_brand: bool = False

    @property
    def group(self) -> str:
        return f"{self.label}:{self.spellings[0].lower()}"


def parse_specs(block: str, label: str, kind: str) -> list[Merchant]:
    merchants = []
    for line in block.strip().splitlines():
        regions, spellings = line.split("|", 1)
        key_brand = regions.startswith("!")
        regions = tuple(regions.lstrip("!").split())
        merchants.append(Merchant(label, kind, regions, _split_list_semi(spellings), True, key_brand))
    return merchants


def _split_list_semi(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(";") if item.strip())


class Line:
    """Fills one line's {slots} for a merchant seen in one region."""

    def __init__(self, rng: random.Random, region_code: str) -> None:
        self.rng = rng
        self.region = REGIONS[region_code]
        self.family = WORD_FAMILY[self.region.lang]
        self.city, self.state = rng.choice(self.region.cities)

    def fill(self, template: str, merchant: str = "") -> str:
        return re.sub(r"\{(\w+)\}", lambda m: self._slot(m.group(1), merchant), template)

    def _slot(self, name: str, merchant: str) -> str:
        rng, region = self.rng, self.region
        day, month, year = rng.randint(1, 28), rng.randint(1, 12), rng.choice((2023, 2024, 2025))
        first = rng.choice(FIRST_NAMES[self.family])
        last = rng.choice(SURNAMES[self.family])
        simple = {
            "M": lambda: self._truncated(merchant),
            "MC": lambda: re.sub(r"[^A-Z0-9]", "", merchant.upper())[: rng.randint(8, 14)],
            "CITY": lambda: self.city,
            "city": lambda: rng.choice(REGIONS[rng.choice(list(REGIONS))].cities)[0].lower(),
            "st": lambda: self.state or region.cc,
            "cc": lambda: region.cc,
            "store": lambda: str(rng.randint(1, 99999)).zfill(rng.choice((3, 4, 5))),
            "card4": lambda: str(rng.randint(0, 9999)).zfill(4),
            "card": lambda: f"{rng.randint(4000, 5599)}XXXXXXXX{rng.randint(0, 9999):04d}",
            "n": lambda: str(rng.randint(1, 999)),
            "ref": lambda: str(rng.randint(10**5, 10**10)),
            "ref12": lambda: str(rng.randint(10**11, 10**12 - 1)),
            "id10": lambda: str(rng.randint(10**9, 10**10 - 1)),
            "REF": lambda: "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(rng.randint(6, 12))),
            "bg": lambda: f"{rng.randint(100, 9999)}-{rng.randint(1000, 9999)}",
            "ifsc": lambda: f"{rng.choice(('HDFC', 'ICIC', 'SBIN', 'UTIB', 'KKBK'))}0{rng.randint(0, 99999):06d}",
            "vpa": lambda: f"{first.lower()}{rng.randint(1, 99)}@{rng.choice(PSPS)}",
            "time": lambda: f"{rng.randint(0, 23):02d}{rng.randint(0, 59):02d}",
            "dm": lambda: f"{day:02d}/{month:02d}" if region.cc != "US" else f"{month:02d}/{day:02d}",
            "dmy": lambda: f"{day:02d}{MONTHS[month - 1][:3].upper()}{year % 100:02d}"
            if rng.random() < 0.5 else f"{day:02d}.{month:02d}.{year}",
            "ymd": lambda: f"{year}-{month:02d}-{day:02d}",
            "date": lambda: rng.choice((f"{day:02d}/{month:02d}", f"{day:02d} {MONTHS[month - 1][:3].upper()}",
                                        f"{year}-{month:02d}-{day:02d}", f"{day:02d}.{month:02d}.{year}",
                                        f"{MONTHS[month - 1][:3].upper()}{day:02d}")),
            "MON": lambda: rng.choice((MONTHS[month - 1][:3].upper(), MONTHS[month - 1].upper())),
            "month": lambda: rng.choice((MONTHS[month - 1], MONTHS[month - 1][:3])),
            "day": lambda: rng.choice(DAYS),
            "amt": lambda: self._amount(),
            "amt_plain": lambda: f"{rng.uniform(2, 150):.2f}",
            "NAME": lambda: f"{first} {last}" if rng.random() < 0.7 else f"{first[0]} {last}",
            "Name": lambda: f"{first} {last}".title(),
            "first": lambda: first.lower().title() if rng.random() < 0.3 else first.lower(),
            "BANK": lambda: rng.choice(region.banks),
            "TICKER": lambda: rng.choice(TICKERS),
            "BROKER": lambda: rng.choice(BROKERS),
            "street": lambda: f"{rng.choice(STREETS)} {rng.randint(1, 120)}",
            "url": lambda: self._url(merchant),
            "phone": lambda: self._phone(),
            "FIXED": lambda: f"{merchant[:22]:<23}{self.city[:13]:<14}{region.cc}",
        }
        if name in MONTHS_LOCAL:
            return MONTHS_LOCAL[name][month - 1]
        return simple[name]()

    def _truncated(self, merchant: str) -> str:
        """Card networks cut the merchant name field at 18-25 characters."""
        if len(merchant) > 18 and self.rng.random() < 0.25:
            return merchant[: self.rng.randint(18, 22)].rstrip()
        return merchant

    def _amount(self) -> str:
        value = round(10 ** self.rng.uniform(0.3, 3.2), 2)
        currency = self.region.currency
        if currency in ("JPY", "KRW", "IDR", "COP", "CLP"):
            value = round(value * 100)
            return self.rng.choice((f"{currency} {value:,}", f"{value:,} {currency}"))
        choices = [f"{currency} {value:.2f}", f"{value:.2f} {currency}", f"{value:.2f}"]
        if currency in SYMBOLS:
            choices.append(f"{SYMBOLS[currency]}{value:.2f}")
        if self.region.lang in ("de", "fr", "es", "it", "nl", "pl", "sv", "pt_br", "es_latam"):
            choices.append(f"{value:.2f} {currency}".replace(".", ","))
        return self.rng.choice(choices)

    def _url(self, merchant: str) -> str:
        stem = re.sub(r"[^a-z0-9]", "", merchant.lower().split("*")[0].split(" ")[0]) or "shop"
        tld = {"UK": ".co.uk", "DE": ".de", "FR": ".fr", "ES": ".es", "IT": ".it", "NL": ".nl", "IN": ".in",
               "AU": ".com.au", "CA": ".ca", "BR": ".com.br", "MX": ".com.mx", "SE": ".se", "PL": ".pl"}
        suffix = self.rng.choice((".com", ".com", tld.get(self._region_code(), ".com")))
        return self.rng.choice((f"{stem}{suffix}", f"WWW.{stem.upper()}{suffix.upper()}", f"help.{stem}.com"))

    def _region_code(self) -> str:
        return next(code for code, region in REGIONS.items() if region is self.region)

    def _phone(self) -> str:
        rng = self.rng
        if self.region.cc in ("US", "CA"):
            return f"{rng.choice(('800', '866', '888', '877', '855'))}-{rng.randint(200, 999)}-{rng.randint(0, 9999):04d}"
        return f"+{rng.randint(30, 99)} {rng.randint(10, 99)} {rng.randint(1000000, 9999999)}"


class Generator:
    def __init__(self, seed: int = SEED) -> None:
        self.rng = random.Random(seed)
        self.any_regions = list(REGIONS)
        self.any_weights = [REGIONS[c].weight for c in self.any_regions]

    def pick_region(self, merchant: Merchant) -> str:
        if merchant.regions == ("ANY",):
            return self.rng.choices(self.any_regions, self.any_weights)[0]
        return self.rng.choice(merchant.regions)

    def render(self, merchant: Merchant, index: int) -> str:
        """The merchant's `index`-th line: its spellings take turns, so each one is seen."""
        rng = self.rng
        line = Line(rng, self.pick_region(merchant))
        spelling = line.fill(merchant.spellings[index % len(merchant.spellings)])
        if merchant.kind == "note":
            return line.fill(spelling + rng.choice(NOTE_SUFFIXES)).lower()
        if merchant.kind == "bare":
            return self._case(spelling)
        if merchant.kind == "raw":
            text = spelling if rng.random() < 0.75 else line.fill(rng.choice(("{dm} ", "{date} ", ""))) + spelling
            text += line.fill(rng.choice(("", "", "", " {amt}", " {dm}")))
        else:
            if rng.random() < 0.12:
                spelling += " " + rng.choice(LEGAL_FORMS[line.region.lang])
            generic, regional = FORMATS[merchant.kind]
            own = regional.get(line.region.lang, [])
            template = rng.choice(own) if own and rng.random() < 0.55 else rng.choice(generic)
            text = line.fill(template, spelling)
        if rng.random() < 0.08:
            text = rng.choice(NOISE_PREFIXES) + " " + text
        if rng.random() < 0.08:
            text += " " + line.fill(rng.choice(NOISE_SUFFIXES))
        return self._case(text)

    def _case(self, text: str) -> str:
        roll = self.rng.random()
        if roll < 0.6:
            return text.upper()
        if roll < 0.9:
            return text
        return text.title()

    def composed(
        self, label: str, patterns: list[tuple[str, tuple[str, ...], str]], count: int, taken: set[str]
    ) -> list[tuple[Merchant, str]]:
        """`count` local-looking merchants from (kind, regions, <SLOT> pattern)s, each its own
        group (none of the `taken` ones), in rounds over the patterns; round r's merchants go to
        split SPLIT_CYCLE[r]."""
        merchants, seen = [], set(taken)
        for round_ in itertools.count():
            if len(merchants) >= count:
                return merchants
            for kind, regions, pattern in self.rng.sample(patterns, len(patterns)):
                region = self.rng.choice(self.any_regions if regions == ("ANY",) else regions)
                family = WORD_FAMILY[REGIONS[region].lang]
                name = re.sub(r"<(\w+)>", lambda m: self._instance_slot(m.group(1), family, region), pattern)
                merchant = Merchant(label, kind, (region,), (name,), named=False)
                if merchant.group not in seen and len(merchants) < count:
                    seen.add(merchant.group)
                    merchants.append((merchant, SPLIT_CYCLE[round_ % len(SPLIT_CYCLE)]))

    def _instance_slot(self, name: str, family: str, region: str) -> str:
        rng = self.rng
        if name == "WORD":
            return rng.choice(WORDS[family] if rng.random() < 0.7 else WORDS["en"])
        if name == "SURNAME":
            return rng.choice(SURNAMES[family])
        if name == "PERSON":
            return f"{rng.choice(FIRST_NAMES[family])} {rng.choice(SURNAMES[family])}"
        if name == "CITY":
            return rng.choice(REGIONS[region].cities)[0]
        if name == "COMPANY":
            stem = rng.choice(COMPANY_STEMS + WORDS[family] + SURNAMES[family])
            return f"{stem} {rng.choice(COMPANY_NOUNS)}".strip()
        raise KeyError(name)


# (catalog block, label, kind) for every named merchant.
CATALOG = [
    (catalog.FOOD_STORE, "food", "store"),
    (catalog.FOOD_ONLINE, "food", "online"),
    (catalog.TRANSPORT_STORE, "transport", "store"),
    (catalog.TRANSPORT_ONLINE, "transport", "online"),
    (catalog.BILLS_DEBIT, "bills", "debit"),
    (catalog.SHOPPING_STORE, "shopping", "store"),
    (catalog.SHOPPING_ONLINE, "shopping", "online"),
    (catalog.ENTERTAINMENT_ONLINE, "entertainment", "online"),
    (catalog.ENTERTAINMENT_STORE, "entertainment", "store"),
    (catalog.HEALTH_STORE, "health", "store"),
    (catalog.HEALTH_DEBIT, "health", "debit"),
    (catalog.TRAVEL_ONLINE, "travel", "online"),
    (catalog.TRAVEL_STORE, "travel", "store"),
    (catalog.HOUSING_DEBIT, "housing", "debit"),
    (catalog.HOUSING_PAYEE, "housing", "payee"),
    (catalog.INCOME_CREDIT, "income", "credit"),
    (catalog.INCOME_RAW, "income", "raw"),
    (catalog.TRANSFER_RAW, "transfer", "raw"),
    (catalog.HOUSING_RAW, "housing", "raw"),
]


def lines_for(merchant: Merchant, rng: random.Random) -> int:
    """How many statement-format lines a named group gets (on top of its bare-name lines): key
    brands and many-spelling raw specs get more; other brands mostly only their bare names, so the
    catalog can be wide and the training set stay small (the formats come with composed merchants)."""
    if merchant.kind == "raw":
        return 1 + min(len(merchant.spellings), 4)
    if merchant.key_brand:
        return 4
    return int(rng.random() < FORMATTED_SHARE)


def generate(seed: int = SEED) -> dict[str, list[dict[str, str]]]:
    """The rows (text, label, group) of each split, deduplicated, in a seeded random order."""
    generator = Generator(seed)
    rng = generator.rng
    splits: dict[str, list[dict[str, str]]] = {name: [] for name in SPLITS}
    seen = set()

    def emit(merchant: Merchant, count: int, split: str) -> int:
        made = 0
        for attempt in range(count * 3):  # retries for lines that come out identical
            if made == count:
                break
            text = generator.render(merchant, attempt).strip()
            key = re.sub(r"\s+", " ", text.casefold())
            if key not in seen:
                seen.add(key)
                splits[split].append({"text": text, "label": merchant.label, "group": merchant.group})
                made += 1
        return made

    for label in LABELS:
        named = [m for block, l, kind in CATALOG if l == label for m in parse_specs(block, label, kind)]
        made = sum(emit(m, lines_for(m, rng), "train") for m in named)
        # Each spelling of a named merchant also as the bare name (as apps show it): short lines,
        # cheap to train on, and what lets the model remember the brand itself.
        made += sum(emit(replace(m, kind="bare"), len(m.spellings), "train") for m in named if m.kind != "raw")
        notes = [n.strip() for n in re.split(r"[;\n]", catalog.NOTES[label]) if n.strip()]
        named_groups = {m.group for m in named}
        for i, note in enumerate(rng.sample(notes, len(notes))):
            merchant = Merchant(label, "note", ("ANY",), (note,), named=False)
            # A note that names a catalog brand ("tv licence") is that brand's group: train only.
            split = "train" if merchant.group in named_groups else SPLIT_CYCLE[i % len(SPLIT_CYCLE)]
            emit(merchant, 2, split)
        # Local merchants and people, one line each, fill the label up to LINES_PER_LABEL.
        patterns = [
            (kind, tuple(regions.split()), pattern)
            for (composed_label, kind), block in catalog.COMPOSED.items()
            if composed_label == label
            for regions, spellings in (line.split("|", 1) for line in block.strip().splitlines())
            for pattern in _split_list_semi(spellings)
        ]
        count = max(LINES_PER_LABEL - made, MIN_GENERATED_LINES)
        for merchant, split in generator.composed(label, patterns, count, named_groups):
            emit(merchant, 1, split)
    for rows in splits.values():
        rng.shuffle(rows)
    return splits


def write(splits: dict[str, list[dict[str, str]]], directory: Path = DATA_DIR) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, rows in splits.items():
        with open(directory / f"{name}.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=FIELDS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)


def main() -> None:
    splits = generate()
    write(splits)
    for name, rows in splits.items():
        per_label = Counter(row["label"] for row in rows)
        print(f"{name:<10} {len(rows):>5} lines  " + " ".join(f"{l}={per_label[l]}" for l in LABELS))


if __name__ == "__main__":
    main()
