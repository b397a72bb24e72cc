À=

ÿÿÿÿÿÿÿÿ/
Metadatae1ResponseComplete*getpÿñ±ãÿïðä20
Metadatae2ResponseComplete*listp€ò±ãÿïðä1/
Metadatae3ResponseComplete*gethÿÿÿÿÿÿÿÿ20
Metadatae4ResponseComplete*geth€€¤·åçÈ‘ÿ20
Metadatae5ResponseComplete*gethÿÿ£·åçÈ‘ÿ.
ÿÿÿÿÿÿÿÿÿ
Metadatae6RequestReceived