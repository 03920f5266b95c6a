#!/usr/bin/env python3
"""Writes an N-row catalogue table (CSV, the headers of docs/CATALOGUE.md) to stdout, for measuring
`hallsync catalogue import` on large tables: python3 scripts/catalogue_table.py 20000 > items.csv"""
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
if not 1 <= n <= 99999:
    sys.exit("rows: 1 to 99999")
print("事项编码,事项名称,事项类型,实施主体,设定依据,实施依据,办理条件,办理流程,是否收费,收费标准,收费依据,法定时限,承诺时限,通办范围,办事指南,申报材料")
for i in range(1, n + 1):
    print(f"4401{i:05d}000,事项{i}号居民服务,行政许可,市公安局,《某某法》第{i % 50}条,《某某条例》第{i % 30}条,"
          f"申请人具备条件{i},受理审查决定送达,否,,,20,10,全市通办,办事指南第{i}号,"
          f"id|居民身份证|原件|1|必要;photo|照片|原件|2")
