DROP TABLE made_packs;
