/* Deal Pulse widget for amoCRM (where each part appears: README "Publishing the widget").
   - lcard-1: the deal's hints (reason, numbers, action, one-click task, snooze, dismiss), freshness, my plan.
   - widget_page, as two subsections of amoCRM's Stats section (left menu, initMenuPage): "deals that need
     attention" for every user (any visible deal for supervisors) and the supervisor panel (inline SVG charts).
   - advanced_settings: what only admins do there: plans, thresholds, supervisors.
   One AMD module, as amoCRM loads widgets; it talks to our API only through self.$authorizedAjax. Every text shown
   comes from i18n/<lang>.json or, for hints and insights, from the API in both languages; all of it is escaped. */
define(['jquery'], function ($) {
  'use strict';

  // Replaced by `make widget` (and the harness) with the service's public URL.
  var API_BASE = '__DEAL_PULSE_API__';
  var CSS = 'deal-pulse';
  var NBSP = '\u00a0';
  var DAY = 86400;
  var SEVERITY_ORDER = {critical: 0, warning: 1, info: 2};
  var ONE_CLICK_TASK = {no_open_task: true, overdue_task: true};
  // An open card is read again at most this often while its page is visible, never while hidden; at once after
  // the widget's own actions. amoCRM documents no push channel for widgets (FACTS §3).
  var CARD_POLL_MS = 30000;
  var MENU_ATTENTION = 'deal_pulse_attention', MENU_PANEL = 'deal_pulse_panel';  // manifest.json left_menu.stats
  var SNOOZE_DAYS = {'1d': 1, '3d': 3, '1w': 7};

  // ---------------------------------------------------------------- text, numbers, HTML

  function esc(text) {
    return String(text === undefined || text === null ? '' : text).replace(/[&<>"']/g, function (c) {
      return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c];
    });
  }

  /** amoCRM's interface language: Russian by default, English for every other (Kommo's es, pt, ...). */
  function language() {
    var lang = String((window.APP && APP.lang_id) || 'ru').toLowerCase();
    return lang.indexOf('ru') === 0 ? 'ru' : 'en';
  }

  /** The number exactly as num() prints it by default (the server's texts.shown): one decimal below 10 when
   *  fractional, whole otherwise, halves away from zero. Plurals are chosen on this, never on the raw value. */
  function shown(x) {
    var sign = x < 0 ? -1 : 1, tenth = Math.round(Math.abs(x) * 10) / 10;
    if (tenth >= 10 || tenth === Math.round(tenth)) { return sign * Math.round(Math.abs(x)); }
    return sign * tenth;
  }

  /** A number for people: 94 000 (ru, no-break space) / 94,000 (en); `digits` decimals below 10. */
  function num(x, lang, digits) {
    if (x === null || x === undefined || isNaN(x)) { return '—'; }
    x = Number(x);
    if (digits === undefined) { x = shown(x); }
    var places = digits === undefined ? (Math.round(x) !== x ? 1 : 0) : digits;
    var fixed = Math.abs(x).toFixed(places).split('.');
    var whole = fixed[0].replace(/\B(?=(\d{3})+(?!\d))/g, lang === 'ru' ? NBSP : ',');
    var text = whole + (fixed[1] ? (lang === 'ru' ? ',' : '.') + fixed[1] : '');
    return (x < 0 && Number(fixed.join('.')) !== 0 ? '−' : '') + text;
  }

  function pct(share, lang) {
    return share === null || share === undefined ? '—' : num(Math.round(share * 100), lang, 0) + '%';
  }

  function signedPct(share, lang) {
    return (share > 0 ? '+' : '') + pct(share, lang);
  }

  /** Plural form index of n as num() shows it: Russian 1 день, 2 дня, 5 дней, and a fraction takes the genitive
   *  singular (1,5 дня); English one only for exactly 1. */
  function pluralIndex(n, lang) {
    n = Math.abs(shown(Number(n)));
    if (n !== Math.round(n)) { return lang === 'ru' ? 1 : 2; }
    if (lang !== 'ru') { return n === 1 ? 0 : 2; }
    if (n % 10 === 1 && n % 100 !== 11) { return 0; }
    if (n % 10 >= 2 && n % 10 <= 4 && (n % 100 < 12 || n % 100 > 14)) { return 1; }
    return 2;
  }

  function fill(template, vars) {
    return String(template === undefined ? '' : template).replace(/\{(\w+)\}/g, function (m, name) {
      return vars && vars[name] !== undefined ? vars[name] : m;
    });
  }

  function pick(texts, lang) {
    if (!texts) { return ''; }
    if (typeof texts === 'string') { return texts; }
    return texts[lang] || texts.ru || texts.en || '';
  }

  function monthKey(date) {
    return date.getFullYear() + '-' + (date.getMonth() < 9 ? '0' : '') + (date.getMonth() + 1);
  }

  function el(name, extra) {
    return CSS + '__' + name + (extra ? ' ' + extra : '');
  }

  function div(name, html, attrs) {
    return '<div class="' + el(name) + '"' + (attrs || '') + '>' + html + '</div>';
  }

  function button(action, label, extra, attrs) {
    return '<button type="button" class="' + el('button', extra ? CSS + '__button--' + extra : '') +
      '" data-dp-action="' + esc(action) + '"' + (attrs || '') + '>' + esc(label) + '</button>';
  }

  // ---------------------------------------------------------------- inline SVG charts

  var Svg = {
    open: function (width, height, label) {
      return '<svg class="' + el('chart') + '" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ' + width + ' ' +
        height + '" width="' + width + '" role="img" aria-label="' + esc(label) + '"><title>' + esc(label) + '</title>';
    },
    close: '</svg>',
    rect: function (x, y, w, h, name, title) {
      return '<rect class="' + el(name) + '" x="' + x.toFixed(1) + '" y="' + y.toFixed(1) + '" width="' +
        Math.max(0, w).toFixed(1) + '" height="' + h.toFixed(1) + '" rx="2">' +
        (title ? '<title>' + esc(title) + '</title>' : '') + '</rect>';
    },
    text: function (x, y, content, name, anchor, title) {
      return '<text class="' + el(name || 'svg-text') + '" x="' + x.toFixed(1) + '" y="' + y.toFixed(1) + '"' +
        (anchor ? ' text-anchor="' + anchor + '"' : '') + '>' + esc(content) +
        (title ? '<title>' + esc(title) + '</title>' : '') + '</text>';
    },
    line: function (x1, y1, x2, y2, name) {
      return '<line class="' + el(name) + '" x1="' + x1.toFixed(1) + '" y1="' + y1.toFixed(1) + '" x2="' +
        x2.toFixed(1) + '" y2="' + y2.toFixed(1) + '"/>';
    },
    clip: function (text, max) {
      text = String(text || '');
      return text.length > max ? text.slice(0, max - 1) + '…' : text;
    },
    scale: function (value, max, width) {
      return max > 0 ? Math.max(0, value) / max * width : 0;
    }
  };

  /** Open deals per stage and, beside them, deals lost at each stage in the period (count and sum). */
  function funnelChart(funnel, losses, worstStatus, t, lang) {
    var rowH = 40, top = 22, width = 460, barX = 150, barW = 140, lossX = 310, lossW = 130;
    var maxCount = 0, maxLoss = 0;
    funnel.forEach(function (row) {
      var lost = losses[row.status_id] || {};
      maxCount = Math.max(maxCount, row.count || 0);
      maxLoss = Math.max(maxLoss, lost.count || 0);
    });
    var out = Svg.open(width, top + funnel.length * rowH, t('panel.funnel_title'));
    out += Svg.text(barX, 12, t('panel.funnel_open'), 'svg-head') + Svg.text(lossX, 12, t('panel.funnel_lost'),
      'svg-head');
    funnel.forEach(function (row, i) {
      var y = top + i * rowH, lost = losses[row.status_id] || {count: 0, amount: 0};
      var worst = String(row.status_id) === String(worstStatus);
      out += '<g class="' + el('funnel-row', worst ? CSS + '__funnel-row--worst' : '') + '" data-status="' +
        esc(row.status_id) + '">';
      out += Svg.text(0, y + 14, Svg.clip(row.name, 24), worst ? 'svg-label-strong' : 'svg-label', null, row.name);
      out += Svg.rect(barX, y + 3, Math.max(row.count ? 2 : 0, Svg.scale(row.count, maxCount, barW)), 14, 'bar-open');
      out += Svg.text(barX, y + 32, num(row.count, lang) + ' · ' + num(row.amount, lang), 'svg-value');
      out += Svg.rect(lossX, y + 3, Math.max(lost.count ? 2 : 0, Svg.scale(lost.count, maxLoss, lossW)), 14,
        worst ? 'bar-loss-worst' : 'bar-loss');
      out += '<text class="' + el('svg-value') + ' ' + el('loss-figure') + '" x="' + lossX + '" y="' + (y + 32) +
        '" data-count="' + esc(lost.count || 0) + '" data-amount="' + esc(lost.amount || 0) + '">' +
        esc(lost.count ? '−' + num(lost.count, lang) + ' · ' + num(lost.amount, lang) : '0') + '</text>';
      out += '</g>';
    });
    return out + Svg.close;
  }

  /** Median days per stage as bars, P80 as a tick; the stage where deals hang is highlighted. */
  function stageTimeChart(rows, hangStatus, t, lang) {
    var rowH = 40, top = 22, width = 460, barX = 150, barW = 290, max = 0;
    rows.forEach(function (r) { max = Math.max(max, r.median_days || 0, r.p80_days || 0); });
    var out = Svg.open(width, top + rows.length * rowH, t('panel.time_title'));
    out += Svg.text(barX, 12, t('panel.time_legend'), 'svg-head');
    rows.forEach(function (r, i) {
      var y = top + i * rowH, hang = String(r.status_id) === String(hangStatus);
      var median = r.median_days, p80 = r.p80_days;
      out += '<g class="' + el('time-row', hang ? CSS + '__time-row--hang' : '') + '" data-status="' +
        esc(r.status_id) + '">';
      out += Svg.text(0, y + 14, Svg.clip(r.name, 24), hang ? 'svg-label-strong' : 'svg-label', null, r.name);
      if (hang) { out += Svg.text(0, y + 32, t('panel.time_hang'), 'svg-hang'); }
      if (median === null || median === undefined) {
        out += Svg.text(barX, y + 14, t('panel.time_no_exits'), 'svg-muted');
      } else {
        out += Svg.rect(barX, y + 3, Math.max(2, Svg.scale(median, max, barW)), 14, hang ? 'bar-hang' : 'bar-time');
        if (p80 !== null && p80 !== undefined) {
          var px = barX + Svg.scale(p80, max, barW);
          out += Svg.line(px, y, px, y + 20, 'p80-tick');
        }
        var label = fill(t('panel.time_row'), {median: num(median, lang),
          p80: p80 === null || p80 === undefined ? t('panel.time_p80_open') : num(p80, lang),
          exits: num(r.exits || 0, lang)});
        out += Svg.text(barX, y + 32, label, hang ? 'svg-value-strong' : 'svg-value');
      }
      out += '</g>';
    });
    return out + Svg.close;
  }

  /** The share printed beside its own counts: raw, never the shrunk rate that only ranks (0 of 23 is 0%). */
  function rawShare(part, whole) {
    return whole ? part / whole : null;
  }

  /** Incoming requests per source: all of them, and the part that became deals, with the rate. */
  function incomingChart(sources, t, lang) {
    var rowH = 40, top = 6, width = 460, barX = 110, barW = 330, max = 0;
    sources.forEach(function (s) { max = Math.max(max, s.incoming || 0); });
    var out = Svg.open(width, top + sources.length * rowH, t('panel.incoming_title'));
    sources.forEach(function (s, i) {
      var y = top + i * rowH, rate = rawShare(s.became_deals, s.incoming);
      out += '<g class="' + el('source-row') + '" data-source="' + esc(s.source) + '">';
      out += Svg.text(0, y + 14, Svg.clip(sourceName(s.source, t), 16), 'svg-label', null, s.source);
      out += Svg.rect(barX, y + 3, Math.max(2, Svg.scale(s.incoming, max, barW)), 14, 'bar-incoming');
      out += Svg.rect(barX, y + 3, Svg.scale(s.became_deals, max, barW), 14, 'bar-converted');
      out += Svg.text(barX, y + 32, fill(t('panel.incoming_row'), {incoming: num(s.incoming, lang),
        deals: num(s.became_deals, lang), rate: pct(rate, lang)}), 'svg-value');
      out += '</g>';
    });
    return out + Svg.close;
  }

  function sourceName(source, t) {
    var known = {forms: t('panel.source_forms'), mail: t('panel.source_mail'), chats: t('panel.source_chats'),
                 sip: t('panel.source_sip'), other: t('panel.source_other')};
    return known[source] || source;
  }

  /** Open deals per manager against the team median (dashed line). */
  function workloadChart(rows, median, t, lang) {
    var rowH = 34, top = 20, width = 460, barX = 150, barW = 200, max = median || 0;
    rows.forEach(function (r) { max = Math.max(max, r.open_deals || 0); });
    var height = top + rows.length * rowH;
    var out = Svg.open(width, height + 4, t('panel.workload_title'));
    rows.forEach(function (r, i) {
      var y = top + i * rowH, over = median && r.open_deals > median * 1.5;
      out += '<g class="' + el('workload-row') + '" data-user="' + esc(r.user_id) + '">';
      out += Svg.text(0, y + 14, Svg.clip(r.name, 22), 'svg-label', null, r.name);
      out += Svg.rect(barX, y + 3, Math.max(r.open_deals ? 2 : 0, Svg.scale(r.open_deals, max, barW)), 14,
        over ? 'bar-over' : 'bar-open');
      out += Svg.text(barX + barW + 8, y + 14, fill(t('panel.workload_row'), {deals: num(r.open_deals, lang),
        tasks: num(r.open_tasks, lang)}), 'svg-value');
      out += '</g>';
    });
    if (median !== null && median !== undefined) {
      var mx = barX + Svg.scale(median, max, barW);
      out += Svg.line(mx, top - 4, mx, height, 'median-line');
      out += Svg.text(mx, 12, fill(t('panel.workload_median'), {n: num(median, lang)}), 'svg-muted', 'middle');
    }
    return out + Svg.close;
  }

  /** Fact against plan per manager; the dashed tick is where the pace should be today, the dark one the projection. */
  function planChart(rows, t, lang) {
    var rowH = 44, top = 4, width = 460, barX = 150, barW = 290;
    var out = Svg.open(width, top + rows.length * rowH, t('panel.plans_title'));
    rows.forEach(function (r, i) {
      var y = top + i * rowH, plan = r.plan_amount || 0;
      var max = Math.max(plan, r.fact_amount || 0, r.projected_amount || 0) * 1.05 || 1;
      var behind = plan && r.projected_amount < plan;
      out += '<g class="' + el('plan-row') + '" data-user="' + esc(r.user_id) + '">';
      out += Svg.text(0, y + 14, Svg.clip(r.name, 22), 'svg-label', null, r.name);
      out += Svg.rect(barX, y + 3, Svg.scale(plan, max, barW), 14, 'bar-plan');
      out += Svg.rect(barX, y + 3, Svg.scale(r.fact_amount, max, barW), 14, behind ? 'bar-behind' : 'bar-fact');
      if (plan && r.pace_share !== null && r.pace_share !== undefined) {
        var px = barX + Svg.scale(plan * r.pace_share, max, barW);
        out += Svg.line(px, y, px, y + 20, 'pace-tick');
      }
      if (r.projected_amount) {
        var jx = barX + Svg.scale(r.projected_amount, max, barW);
        out += Svg.line(jx, y, jx, y + 20, 'projected-tick');
      }
      var label = plan ? fill(t('panel.plan_row'), {fact: num(r.fact_amount, lang), plan: num(plan, lang),
        share: pct(plan ? r.fact_amount / plan : 0, lang), projected: num(r.projected_amount, lang),
        chance: pct(r.p_plan_met, lang)}) : t('panel.plan_none');
      out += Svg.text(barX, y + 34, label, 'svg-value');
      out += '</g>';
    });
    return out + Svg.close;
  }

  /** The next three months: P10–P90 as a band, P50 as the line, the value printed at each month. */
  function forecastChart(months, t, lang) {
    var width = 460, height = 190, left = 60, right = 30, top = 16, bottom = 40;
    var plotW = width - left - right, plotH = height - top - bottom, max = 0;
    months.forEach(function (m) { max = Math.max(max, m.p90 || 0, m.p50 || 0); });
    max = max || 1;
    function x(i) { return left + (months.length > 1 ? i * plotW / (months.length - 1) : plotW / 2); }
    function y(v) { return top + plotH - Svg.scale(v || 0, max, plotH); }
    var out = Svg.open(width, height, t('panel.forecast_title'));
    [0, 0.5, 1].forEach(function (f) {
      out += Svg.line(left, y(max * f), width - right, y(max * f), 'grid-line');
      out += Svg.text(left - 6, y(max * f) + 4, num(max * f, lang), 'svg-muted', 'end');
    });
    var upper = months.map(function (m, i) { return x(i).toFixed(1) + ',' + y(m.p90).toFixed(1); });
    var lower = months.map(function (m, i) { return x(i).toFixed(1) + ',' + y(m.p10).toFixed(1); }).reverse();
    out += '<polygon class="' + el('fan') + '" points="' + upper.concat(lower).join(' ') + '"/>';
    out += '<polyline class="' + el('fan-median') + '" points="' + months.map(function (m, i) {
      return x(i).toFixed(1) + ',' + y(m.p50).toFixed(1);
    }).join(' ') + '"/>';
    months.forEach(function (m, i) {
      out += '<circle class="' + el('fan-point') + '" cx="' + x(i).toFixed(1) + '" cy="' + y(m.p50).toFixed(1) +
        '" r="3.5"><title>' + esc('P10 ' + num(m.p10, lang) + ' · P50 ' + num(m.p50, lang) + ' · P90 ' +
        num(m.p90, lang)) + '</title></circle>';
      out += Svg.text(x(i), y(m.p50) - 8, num(m.p50, lang), 'svg-value-strong', 'middle');
      out += Svg.text(x(i), height - 22, monthName(m.start, lang), 'svg-label', 'middle');
      out += Svg.text(x(i), height - 8, num(m.p10, lang) + '–' + num(m.p90, lang), 'svg-muted', 'middle');
    });
    return out + Svg.close;
  }

  function monthName(ts, lang) {
    if (!ts) { return ''; }
    var date = new Date(ts * 1000 + 12 * 3600 * 1000);  // mid-day: month starts are local midnights
    try {
      return date.toLocaleDateString(lang === 'ru' ? 'ru-RU' : 'en-US', {month: 'long', year: 'numeric'});
    } catch (e) {
      return monthKey(date);
    }
  }

  function progressBar(percent, label) {
    var w = Math.max(0, Math.min(100, percent || 0));
    return Svg.open(300, 10, label) + Svg.rect(0, 0, 300, 10, 'progress-track') +
      Svg.rect(0, 0, 3 * w, 10, 'progress-fill') + Svg.close;
  }

  // ---------------------------------------------------------------- style (every class under .deal-pulse)

  var C = '.' + CSS;
  var STYLE = [
    C + '{font-size:13px;line-height:1.4;color:#2e3640;font-family:inherit}',
    C + ' *{box-sizing:border-box}',
    C + '__muted,' + C + '__fresh,' + C + '__loading,' + C + '__empty{color:#6b7685;font-size:12px}',
    C + '__fresh{margin-top:6px}',
    C + '__loading:before{content:"";display:inline-block;width:10px;height:10px;margin-right:6px;' +
      'border:2px solid #c5ccd6;' +
      'border-top-color:#4c8bf5;border-radius:50%;animation:deal-pulse-spin 0.8s linear infinite;vertical-align:-1px}',
    '@keyframes deal-pulse-spin{to{transform:rotate(360deg)}}',
    C + '__error{color:#c0392b;background:#fdf0ef;border-radius:3px;padding:6px 8px}',
    C + '__error ' + C + '__button{margin-top:6px}',
    C + '__places-slot > ' + C + '__error{margin-bottom:16px}',
    C + '__plan{font-size:12px;margin:0 0 8px;padding:6px 8px;background:#f0f4fb;border-radius:3px}',
    C + '__plan-bar{height:4px;background:#dfe5ee;border-radius:2px;margin-top:4px;overflow:hidden}',
    C + '__plan-bar span{display:block;height:100%;background:#3aa76d}',
    C + '__plan-bar--behind span{background:#f0a020}',
    C + '__hints{list-style:none;margin:0;padding:0}',
    C + '__hint{border-left:4px solid #8591a5;padding:6px 8px;margin:0 0 8px;background:#f5f7fa;border-radius:2px}',
    C + '__hint--critical{border-color:#e0443a;background:#fdf0ef}',
    C + '__hint--warning{border-color:#f0a020;background:#fdf7ea}',
    C + '__hint-head{display:flex;justify-content:space-between;gap:6px;font-size:11px;color:#6b7685;' +
      'margin-bottom:2px}',
    C + '__badge{font-weight:700;text-transform:uppercase;letter-spacing:0.02em}',
    C + '__hint--critical ' + C + '__badge{color:#c0392b}',
    C + '__hint--warning ' + C + '__badge{color:#b36b00}',
    C + '__numbers{white-space:nowrap}',
    C + '__text{word-wrap:break-word}',
    C + '__action{font-weight:600;margin-top:4px}',
    C + '__reasons{margin:4px 0 0;padding-left:16px}',
    C + '__filters{display:flex;flex-wrap:wrap;gap:8px 16px;align-items:flex-end;margin:0 0 12px}',
    C + '__filter{display:flex;flex-direction:column;gap:2px;font-size:12px;color:#6b7685}',
    C + '__report th{font-size:12px;white-space:normal}',
    C + '__report{display:block;overflow-x:auto}',  // nine columns: scroll inside the section, never past it
    C + '__filter-days{display:flex;align-items:center;gap:4px}',
    C + '__filter-days ' + C + '__input{width:auto}',
    C + '__buttons{display:flex;flex-wrap:wrap;gap:4px;margin-top:6px}',
    C + '__button{font:inherit;font-size:12px;padding:2px 8px;border:1px solid #c5ccd6;border-radius:3px;' +
      'background:#fff;' +
      'color:#2e3640;cursor:pointer;line-height:18px}',
    C + '__button:hover{border-color:#8591a5}',
    C + '__button[disabled]{opacity:0.6;cursor:default}',
    C + '__button--primary{background:#4c8bf5;border-color:#4c8bf5;color:#fff}',
    C + '__button--primary:hover{background:#3a78e0}',
    C + '__choices{display:flex;flex-wrap:wrap;gap:4px;margin-top:6px;align-items:center;font-size:12px}',
    C + '__note{font-size:12px;margin-top:6px;color:#2f7d4f}',
    C + '__note--error{color:#c0392b}',
    C + '__notice{font-size:12px;color:#2f7d4f;margin:0 0 8px}',
    C + '__attention{list-style:none;margin:0;padding:0;counter-reset:dp}',
    C + '__deal{padding:6px 0 6px 22px;border-bottom:1px solid #eef1f5;position:relative;counter-increment:dp}',
    C + '__deal:before{content:counter(dp);position:absolute;left:0;top:6px;width:16px;font-size:11px;' +
      'color:#8591a5;text-align:right}',
    C + '__deal-link{font-weight:600;color:#1375ab;text-decoration:none}',
    C + '__deal-link:hover{text-decoration:underline}',
    C + '__deal-meta{font-size:12px;color:#6b7685}',
    C + '__deal-reason{display:-webkit-box;-webkit-line-clamp:3;-webkit-box-orient:vertical;overflow:hidden}',
    C + '__dot{display:inline-block;width:8px;height:8px;border-radius:50%;background:#8591a5;margin-right:5px}',
    C + '__dot--critical{background:#e0443a}',
    C + '__dot--warning{background:#f0a020}',
    // supervisor panel
    C + '--panel{padding:16px 20px;max-width:1280px}',
    C + '__header{display:flex;justify-content:space-between;align-items:flex-start;gap:16px;margin-bottom:12px}',
    C + '__h1{font-size:20px;font-weight:700;margin:0}',
    C + '__h2{font-size:15px;font-weight:700;margin:0 0 8px}',
    C + '__sync{min-width:300px;font-size:12px;color:#6b7685}',
    C + '__places{list-style:none;margin:0 0 16px;padding:0;display:grid;gap:6px}',
    C + '__place{background:#fdf7ea;border-left:4px solid #f0a020;padding:8px 10px;border-radius:2px}',
    C + '__place--most_losses{background:#fdf0ef;border-color:#e0443a}',
    C + '__grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(400px,1fr));gap:16px}',
    C + '__section{background:#fff;border:1px solid #dbdedf;border-radius:4px;padding:12px 14px}',
    C + '__section--wide{grid-column:1/-1}',
    C + '__lead{font-size:13px;margin:0 0 8px}',
    C + '__big{font-size:18px;font-weight:700}',
    C + '__chart{display:block;max-width:100%;height:auto;overflow:visible}',
    C + '__input[type="month"]{width:160px}',
    C + '__svg-text,' + C + '__svg-label{font-size:12px;fill:#2e3640}',
    C + '__svg-label-strong{font-size:12px;fill:#2e3640;font-weight:700}',
    C + '__svg-head{font-size:11px;fill:#6b7685;text-transform:uppercase}',
    C + '__svg-value{font-size:11px;fill:#4a5563}',
    C + '__svg-value-strong{font-size:11px;fill:#2e3640;font-weight:700}',
    C + '__svg-muted{font-size:10px;fill:#8591a5}',
    C + '__svg-hang{font-size:11px;fill:#b36b00;font-weight:700}',
    C + '__bar-open{fill:#4c8bf5}',
    C + '__bar-over{fill:#f0a020}',
    C + '__bar-loss{fill:#f3a7a1}',
    C + '__bar-loss-worst{fill:#e0443a}',
    C + '__bar-time{fill:#9bb8e8}',
    C + '__bar-hang{fill:#f0a020}',
    C + '__bar-incoming{fill:#dfe5ee}',
    C + '__bar-converted{fill:#3aa76d}',
    C + '__bar-plan{fill:#e6ebf2}',
    C + '__bar-fact{fill:#3aa76d}',
    C + '__bar-behind{fill:#f0a020}',
    C + '__p80-tick,' + C + '__projected-tick{stroke:#2e3640;stroke-width:2}',
    C + '__pace-tick{stroke:#6b7685;stroke-width:2;stroke-dasharray:3 2}',
    C + '__median-line{stroke:#6b7685;stroke-width:1;stroke-dasharray:4 3}',
    C + '__grid-line{stroke:#eef1f5;stroke-width:1}',
    C + '__fan{fill:#4c8bf5;fill-opacity:0.18;stroke:#4c8bf5;stroke-opacity:0.35}',
    C + '__fan-median{fill:none;stroke:#4c8bf5;stroke-width:2}',
    C + '__fan-point{fill:#fff;stroke:#4c8bf5;stroke-width:2}',
    C + '__progress-track{fill:#e6ebf2}',
    C + '__progress-fill{fill:#3aa76d}',
    C + '__legend{font-size:11px;color:#6b7685;margin-top:6px}',
    C + '__speed-table{margin:6px 0 10px}',
    C + '__speed-waiting td:last-child{color:#c0392b;font-weight:600}',
    C + '__rate-bar{display:inline-block;width:80px;height:8px;background:#eef1f5;border-radius:4px;' +
      'vertical-align:middle;overflow:hidden}',
    C + '__rate-bar span{display:block;height:8px;background:#3aa76d}',
    C + '__table{border-collapse:collapse;width:100%;font-size:12px}',
    C + '__table th{text-align:left;color:#6b7685;font-weight:600;border-bottom:1px solid #dbdedf;padding:4px 6px}',
    C + '__table td{border-bottom:1px solid #eef1f5;padding:4px 6px}',
    C + '__table td' + C + '__num,' + C + '__table th' + C + '__num{text-align:right;white-space:nowrap}',
    C + '__input{font:inherit;font-size:12px;padding:3px 6px;border:1px solid #c5ccd6;border-radius:3px;width:110px}',
    C + '__input--short{width:70px}',
    C + '__input--field{width:auto;max-width:100%}',  // a field's name is read whole, not cut
    C + '__form-row{display:flex;align-items:center;gap:8px;margin:0 0 8px;flex-wrap:wrap}',
    C + '__form-row label{min-width:220px}',
    C + '__checks{display:flex;flex-wrap:wrap;gap:4px 16px}',
    C + '__form-row ' + C + '__day{min-width:0;white-space:nowrap}',
    C + '__actions{margin-top:10px;display:flex;gap:8px;align-items:center}'
  ].join('\n');

  function ensureStyle() {
    if (!$('#' + CSS + '-style').length) {
      $('head').append('<style id="' + CSS + '-style">' + STYLE + '</style>');
    }
  }

  // ---------------------------------------------------------------- the widget

  return function () {
    var self = this;
    var state = {lang: language(), card: null, panel: null, lastRead: 0, scope: 'mine'};

    /** A string of i18n/<lang>.json by its dotted key ("card.loading"). */
    function t(key, vars) {
      var parts = key.split('.'), value = self.i18n(parts[0]);
      for (var i = 1; i < parts.length && value; i++) { value = value[parts[i]]; }
      return fill(value === undefined || value === null ? key : value, vars);
    }

    /** "{n} <form>" with the language's plural form; `keys` are the one/few/many keys. */
    function plural(n, keys) {
      return t(keys[pluralIndex(n, state.lang)], {n: num(n, state.lang)});
    }

    function ago(asOf) {
      var seconds = Math.max(0, Date.now() / 1000 - asOf);
      if (seconds < 60) { return t('common.just_now'); }
      if (seconds < 3600) { return t('common.minutes_ago', {n: num(Math.round(seconds / 60), state.lang)}); }
      if (seconds < DAY) { return t('common.hours_ago', {n: num(Math.round(seconds / 3600), state.lang)}); }
      return t('common.days_ago', {n: num(Math.round(seconds / DAY), state.lang)});
    }

    function freshness(asOf) {
      return asOf ? t('common.updated', {ago: ago(asOf)}) : '';
    }

    /** One API call through amoCRM's one-time token; a jQuery promise of the JSON answer. */
    function api(method, path, body, retried) {
      var options = {url: API_BASE + '/api/v1' + path, type: method, dataType: 'json', timeout: 15000};
      if (body !== undefined) {
        options.data = JSON.stringify(body);
        options.contentType = 'application/json';
      }
      if (retried) { return self.$authorizedAjax(options); }
      // A token the service saw before (token_replayed): once more with a fresh $authorizedAjax token.
      var answer = $.Deferred();
      self.$authorizedAjax(options).done(answer.resolve).fail(function (xhr) {
        var code = xhr && xhr.responseJSON && xhr.responseJSON.error;
        if (xhr && xhr.status === 401 && code === 'token_replayed') {
          api(method, path, body, true).done(answer.resolve).fail(answer.reject);
        } else {
          answer.reject.apply(answer, arguments);
        }
      });
      return answer.promise();
    }

    /** What went wrong, in words the user can act on. */
    function failure(xhr) {
      var status = xhr && xhr.status;
      if (!status) { return t('common.error_offline'); }
      if (status === 401 || status === 403) { return t('common.error_denied'); }
      if (status === 429) { return t('common.error_busy'); }
      if (status === 503) { return t('common.error_unavailable'); }
      return t('common.error_generic');
    }

    function errorBox(xhr, retryAction) {
      return '<div class="' + el('error') + '" role="alert">' + esc(failure(xhr)) +
        (retryAction ? '<br>' + button(retryAction, t('common.retry')) : '') + '</div>';
    }

    function loadingBox(key) {
      return div('loading', esc(t(key)));
    }

    // ------------------------------------------------------------ lcard-1: the deal card

    function cardRoot() {
      return $('#' + CSS + '-card');
    }

    /** The open deal's id; null outside a card and on a new deal's card (id 0: nothing to read yet). */
    function currentLeadId() {
      var card = window.APP && APP.data && APP.data.current_card;
      return card && Number(card.id) > 0 ? card.id : null;
    }

    function rank(severity) {
      return SEVERITY_ORDER.hasOwnProperty(severity) ? SEVERITY_ORDER[severity] : 3;
    }

    function sortHints(hints) {
      return (hints || []).slice().sort(function (a, b) {  // a client waiting for a first answer comes first
        var urgent = (b.code === 'first_contact_overdue') - (a.code === 'first_contact_overdue');
        return urgent || rank(a.severity) - rank(b.severity);
      });
    }

    function hintNumbers(hint) {
      var lang = state.lang, th = hint.threshold;
      var units = {days: ['common.days_one', 'common.days_few', 'common.days_many'],
                   hours: ['common.hours_one', 'common.hours_few', 'common.hours_many']};
      if (hint.unit === 'minutes') {  // first contact: minutes, hours past 90 minutes
        return th && th.value ? t('card.numbers_limit', {value: minutesText(hint.value), limit: minutesText(th.value)})
          : minutesText(hint.value);
      }
      if (units[hint.unit]) {
        var value = plural(hint.value, units[hint.unit]);
        return th && th.value ? t('card.numbers_limit', {value: value, limit: num(th.value, lang)}) : value;
      }
      if (hint.unit === '%') {
        return num(Math.round(hint.value), lang, 0) + '%';
      }
      return '';
    }

    function severityLabel(severity) {
      var labels = {critical: t('card.severity_critical'), warning: t('card.severity_warning'),
                    info: t('card.severity_info')};
      return labels[severity] || severity;
    }

    function hintHtml(hint) {
      var lang = state.lang, code = hint.code;
      var offered = hint.task_offered !== undefined ? hint.task_offered : ONE_CLICK_TASK[code];
      var buttons = (offered ? button('task', t('card.create_task'), 'primary') : '') +
        button('snooze-menu', t('card.snooze')) + button('dismiss-menu', t('card.dismiss'));
      return '<li class="' + el('hint', CSS + '__hint--' + esc(hint.severity)) + '" data-code="' + esc(code) + '">' +
        div('hint-head', '<span class="' + el('badge') + '">' + esc(severityLabel(hint.severity)) + '</span>' +
          '<span class="' + el('numbers') + '">' + esc(hintNumbers(hint)) + '</span>') +
        div('text', esc(pick(hint.text, lang))) + reasonsHtml(hint) +
        (hint.action ? div('action', esc('→ ' + pick(hint.action, lang))) : '') +
        div('buttons', buttons) + '<div class="' + el('slot') + '"></div></li>';
    }

    /** The other reasons of a card that merged several rules on one cause (the card's own text is the first). */
    function reasonsHtml(hint) {
      var others = (hint.reasons || []).slice(1);
      if (!others.length) { return ''; }
      return '<ul class="' + el('reasons') + '">' + others.map(function (r) {
        return '<li data-code="' + esc(r.code) + '">' + esc(pick(r.text, state.lang)) + '</li>';
      }).join('') + '</ul>';
    }

    function planLine(me) {
      var lang = state.lang, plan = me && me.plan;
      if (!plan || !(plan.plan_amount || plan.plan_count)) {
        return div('plan', '<span class="' + el('muted') + '">' + esc(t('card.plan_none')) + '</span>');
      }
      var byAmount = !!plan.plan_amount;
      var fact = byAmount ? plan.fact_amount : plan.fact_count, target = byAmount ? plan.plan_amount : plan.plan_count;
      var share = target ? Math.min(1, fact / target) : 0;
      var projected = me.projected_amount !== undefined ? me.projected_amount : plan.projected_amount;
      var behind = byAmount && projected < target;
      var text = t('card.plan_line', {fact: num(fact, lang), plan: num(target, lang), share: pct(fact / target, lang),
                                      chance: pct(me.p_plan_met, lang)});
      return div('plan', esc(text) + '<div class="' + el('plan-bar', behind ? CSS + '__plan-bar--behind' : '') +
        '"><span style="width:' + (share * 100).toFixed(1) + '%"></span></div>', ' title="' +
        esc(pick(firstText(me.texts, 'plan'), lang)) + '"');
    }

    function firstText(texts, code) {
      var found = (texts || []).filter(function (x) { return x.code === code; })[0];
      return found ? found.text : null;
    }

    function renderCard() {
      var root = cardRoot(), card = state.card;
      if (!root.length || !card) { return; }
      var hints = sortHints(card.hints), body;
      if (!hints.length) {
        body = div('empty', esc(card.as_of ? t('card.all_good') : t('card.no_data')));
      } else {
        body = '<ul class="' + el('hints') + '">' + hints.map(hintHtml).join('') + '</ul>';
      }
      var notice = state.notice && state.notice.until > Date.now() ? div('notice', esc(state.notice.text)) : '';
      root.find('.' + CSS + '__card-body').html(notice + body +
        (card.as_of ? div('fresh', esc(freshness(card.as_of))) : ''));
    }

    function loadCard(quiet) {
      var leadId = currentLeadId(), root = cardRoot();
      if (!leadId || !root.length) { return; }
      if (!quiet) { root.find('.' + CSS + '__card-body').html(loadingBox('card.loading')); }
      state.lastRead = Date.now();
      api('GET', '/leads/' + encodeURIComponent(leadId) + '/hints')
        .done(function (data) {
          state.card = data || {hints: []};
          renderCard();
        })
        .fail(function (xhr) {
          root.find('.' + CSS + '__card-body').html(errorBox(xhr, 'reload-card'));
        });
    }

    function loadMyPlan() {
      var root = cardRoot();
      api('GET', '/managers/me')
        .done(function (me) { root.find('.' + CSS + '__plan-slot').html(planLine((me && me.summary) || me)); })
        .fail(function () { root.find('.' + CSS + '__plan-slot').empty(); });  // the hints matter more
    }

    /** Poll the open card while its page is visible: one read per CARD_POLL_MS at most, none while hidden (Page
        Visibility API); coming back to a page whose card is older than that reads it at once. */
    function startCardPolling() {
      stopCardPolling();
      state.pollTimer = setInterval(readCardIfDue, CARD_POLL_MS);
      state.onVisible = function () { if (!document.hidden) { readCardIfDue(); } };
      document.addEventListener('visibilitychange', state.onVisible);
    }

    function readCardIfDue() {
      if (!document.hidden && currentLeadId() && Date.now() - (state.lastRead || 0) >= CARD_POLL_MS) {
        loadCard(true);
      }
    }

    function stopCardPolling() {
      clearInterval(state.pollTimer);
      if (state.onVisible) { document.removeEventListener('visibilitychange', state.onVisible); }
      state.pollTimer = state.onVisible = null;
    }

    function hintOf(target) {
      var item = $(target).closest('.' + CSS + '__hint');
      return {item: item, code: item.attr('data-code'), slot: item.find('.' + CSS + '__slot')};
    }

    function removeHint(code, notice) {
      state.card.hints = (state.card.hints || []).filter(function (h) { return h.code !== code; });
      state.notice = {text: notice, until: Date.now() + 10000};
      renderCard();
      loadCard(true);  // our own action: the stored card, at once
    }

    function sendFeedback(target, body, notice) {
      var hint = hintOf(target), leadId = currentLeadId();
      hint.item.find('button').prop('disabled', true);
      api('POST', '/leads/' + encodeURIComponent(leadId) + '/hints/' + encodeURIComponent(hint.code) + '/feedback',
          body)
        .done(function () { removeHint(hint.code, notice); })
        .fail(function (xhr) {
          hint.item.find('button').prop('disabled', false);
          hint.slot.html('<div class="' + el('note', CSS + '__note--error') + '">' +
            esc(t('card.feedback_failed') + ' ' + failure(xhr)) + '</div>');
        });
    }

    var cardActions = {
      'reload-card': function () { loadCard(false); },
      'snooze-menu': function (target) {
        var hint = hintOf(target);
        hint.slot.html('<div class="' + el('choices') + '">' + esc(t('card.snooze_for')) + ' ' +
          button('snooze', t('card.snooze_1d'), '', ' data-period="1d"') +
          button('snooze', t('card.snooze_3d'), '', ' data-period="3d"') +
          button('snooze', t('card.snooze_1w'), '', ' data-period="1w"') + '</div>');
      },
      'snooze': function (target) {
        var days = SNOOZE_DAYS[$(target).attr('data-period')] || 1;
        var until = Math.round(Date.now() / 1000) + days * DAY;
        var period = plural(days, ['common.days_one', 'common.days_few', 'common.days_many']);
        sendFeedback(target, {action: 'snooze', until: until, reason: 'later'}, t('card.snoozed', {period: period}));
      },
      'dismiss-menu': function (target) {
        var hint = hintOf(target);
        hint.slot.html('<div class="' + el('choices') + '">' + esc(t('card.dismiss_why')) + ' ' +
          button('dismiss', t('card.reason_done'), '', ' data-reason="already_done"') +
          button('dismiss', t('card.reason_not_relevant'), '', ' data-reason="not_relevant"') +
          button('dismiss', t('card.reason_wrong'), '', ' data-reason="wrong_data"') + '</div>');
      },
      'dismiss': function (target) {
        sendFeedback(target, {action: 'dismiss', reason: $(target).attr('data-reason')}, t('card.dismissed'));
      },
      'task': function (target) {
        var hint = hintOf(target), leadId = currentLeadId();
        $(target).prop('disabled', true).text(t('card.task_creating'));
        api('POST', '/leads/' + encodeURIComponent(leadId) + '/tasks', {lang: state.lang, text: t('card.task_text')})
          .done(function (answer) {
            state.notice = {text: t('card.task_created_note', {text: t('card.task_text')}), until: Date.now() + 10000};
            if (answer && answer.card) {  // the card recomputed with the new task: the hint is gone
              state.card = answer.card;
              state.lastRead = Date.now();
              renderCard();
            } else {
              $(target).text(t('card.task_created'));
              loadCard(true);  // our own action: the stored card, at once
            }
          })
          .fail(function (xhr) {
            var why = {409: t('card.task_conflict'), 502: t('card.task_amocrm_failed'),
                       503: t('card.task_amocrm_failed')}[xhr && xhr.status] || failure(xhr);
            $(target).prop('disabled', false).text(t('card.create_task'));
            hint.slot.html('<div class="' + el('note', CSS + '__note--error') + '">' +
              esc(t('card.task_failed') + ' ' + why) + '</div>');
          });
      }
    };

    function renderCardArea() {
      var leadId = currentLeadId();
      self.render_template({
        caption: {class_name: el('caption'), html: esc(t('card.title'))},
        body: '',
        render: '<div class="' + CSS + ' ' + CSS + '--card" id="' + CSS + '-card">' +
          '<div class="' + el('plan-slot') + '"></div><div class="' + el('card-body') + '"></div></div>'
      });
      var root = cardRoot();
      root.on('click', '[data-dp-action]', function (event) {
        var handler = cardActions[$(this).attr('data-dp-action')];
        if (handler) { event.preventDefault(); handler(this); }
      });
      if (leadId) {
        loadCard(false);
        loadMyPlan();
        startCardPolling();
        clearInterval(state.freshTimer);
        state.freshTimer = setInterval(function () {
          if (state.card && state.card.as_of) { root.find('.' + CSS + '__fresh').text(freshness(state.card.as_of)); }
        }, 30000);
      }
    }

    // ------------------------------------------------------------ widget_page: deals that need attention

    function listRoot() {
      return $('#' + CSS + '-list');
    }

    /** Where amoCRM draws the widget's own pages (left-menu page and advanced_settings): #work-area-<code>. */
    function workArea() {
      var code = (self.get_settings && self.get_settings().widget_code) || 'deal_pulse';
      var area = $('#work-area-' + code);
      return area.length ? area : $('#work_area');
    }

    function attentionHtml(data) {
      var lang = state.lang, items = (data && (data.deals || data.items)) || [];
      if (!items.length) { return div('empty', esc(t('list.empty'))); }
      return '<ol class="' + el('attention') + '">' + items.map(function (deal) {
        var id = deal.lead_id || deal.id, link = deal.link || deal.path || '/leads/detail/' + id;
        var top = deal.top_hint || deal.hint || (deal.hints && sortHints(deal.hints)[0]) || {};
        var severity = deal.severity || top.severity || 'info';
        var reason = pick(deal.text || top.text, lang);
        var meta = deal.responsible_name ? [deal.responsible_name] : [];  // whose deal, in the "visible" scope
        if (deal.price !== undefined && deal.price !== null) { meta.push(num(deal.price, lang)); }
        if (deal.stage || deal.stage_name) { meta.push(deal.stage || deal.stage_name); }
        var more = (deal.hints_count || (deal.hints || []).length) - 1;
        if (more > 0) { meta.push(t('list.more_hints', {n: num(more, lang)})); }
        return '<li class="' + el('deal') + '" data-lead="' + esc(id) + '">' +
          '<span class="' + el('dot', CSS + '__dot--' + esc(severity)) + '"></span>' +
          '<a class="' + el('deal-link') + '" href="' + esc(safePath(link, id)) + '">' +
          esc(deal.name || t('list.deal_no_name', {id: id})) + '</a>' +
          (reason ? '<div class="' + el('deal-meta', CSS + '__deal-reason') + '" title="' + esc(reason) + '">' +
            esc(reason) + '</div>' : '') +
          (meta.length ? div('deal-meta', esc(meta.join(' · '))) : '') + '</li>';
      }).join('') + '</ol>' + (data.as_of ? div('fresh', esc(freshness(data.as_of))) : '');
    }

    /** Only a relative amoCRM path: an API value never becomes a javascript: or foreign link. */
    function safePath(link, id) {
      return /^\/[a-z0-9_\/-]*$/i.test(String(link)) ? link : '/leads/detail/' + encodeURIComponent(id);
    }

    function loadList(scope) {
      var root = listRoot();
      state.scope = scope === 'visible' ? 'visible' : 'mine';
      $('#' + CSS + '-page [data-dp-scope]').each(function () {
        $(this).toggleClass(CSS + '__button--primary', $(this).attr('data-dp-scope') === state.scope);
      });
      root.html(loadingBox('list.loading'));
      api('GET', '/attention?limit=50&scope=' + state.scope)
        .done(function (data) { root.html(attentionHtml(data || {})); })
        .fail(function (xhr) { root.html(errorBox(xhr, 'reload-list')); });
    }

    /** Stats → "Deals that need attention": one's own for everyone; supervisors may also see every deal their
        amoCRM rights show them. The service applies the rights (leads.view and status_rights) either way. */
    function renderAttentionPage() {
      ensureStyle();
      workArea().html('<div class="' + CSS + ' ' + CSS + '--page" id="' + CSS + '-page">' +
        '<div class="' + el('header') + '"><h1 class="' + el('h1') + '">' + esc(t('list.title')) + '</h1>' +
        '<div class="' + el('scope') + '"></div></div>' +
        '<div class="' + CSS + ' ' + CSS + '--list" id="' + CSS + '-list"></div></div>');
      var page = $('#' + CSS + '-page');
      page.on('click', '[data-dp-action]', function (event) {
        event.preventDefault();
        var action = $(this).attr('data-dp-action');
        if (action === 'reload-list') { loadList(state.scope); }
        if (action === 'scope') { loadList($(this).attr('data-dp-scope')); }
      });
      api('GET', '/me').done(function (me) {
        if (me && me.is_supervisor) {
          page.find('.' + CSS + '__scope').html(
            button('scope', t('list.scope_mine'), state.scope === 'mine' ? 'primary' : '', ' data-dp-scope="mine"') +
            ' ' + button('scope', t('list.scope_visible'), state.scope === 'visible' ? 'primary' : '',
                         ' data-dp-scope="visible"'));
        }
      });
      loadList('mine');
    }

    // ------------------------------------------------------------ advanced_settings: the supervisor panel

    function panelRoot() {
      return $('#' + CSS + '-panel');
    }

    function section(name, titleKey, wide) {
      return '<section class="' + el('section', wide ? CSS + '__section--wide' : '') + '" data-section="' + name +
        '"><h2 class="' + el('h2') + '">' + esc(t(titleKey)) + '</h2><div class="' + el('section-body') + '">' +
        loadingBox('common.loading') + '</div></section>';
    }

    function fillSection(name, html) {
      panelRoot().find('[data-section="' + name + '"] .' + CSS + '__section-body').html(html);
    }

    function userName(id) {
      var panel = state.panel || {}, users = panel.users || {};
      var user = users[id] || users[String(id)];
      if (user) { return user.name || user; }
      var manager = (panel.managers || []).filter(function (m) { return String(m.user_id) === String(id); })[0];
      return (manager && manager.name) || t('panel.user_no_name', {id: id});
    }

    function placesHtml(places) {
      if (!places || !places.length) { return ''; }
      return '<ul class="' + el('places') + '">' + places.map(function (p) {
        return '<li class="' + el('place', CSS + '__place--' + esc(p.code)) + '" data-code="' + esc(p.code) + '">' +
          esc(pick(p.text, state.lang)) + '</li>';
      }).join('') + '</ul>';
    }

    function placeStatus(places, code) {
      var found = (places || []).filter(function (p) { return p.code === code; })[0];
      return found ? found.status_id : null;
    }

    function funnelHtml(panel) {
      var funnel = panel.funnel || [];
      if (!funnel.length) { return div('empty', esc(t('panel.empty'))); }
      var losses = panel.losses || {}, lang = state.lang, total = {count: 0, amount: 0};
      Object.keys(losses).forEach(function (k) {
        total.count += losses[k].count || 0;
        total.amount += losses[k].amount || 0;
      });
      var reasons = [];
      Object.keys(losses).forEach(function (k) {
        (losses[k].top_reasons || []).forEach(function (r) { reasons.push(r); });
      });
      return div('lead', esc(t('panel.funnel_lead', {count: num(total.count, lang), amount: num(total.amount, lang),
        days: num(panel.period_days || 30, lang)}))) +
        funnelChart(funnel, losses, placeStatus(panel.places, 'most_losses'), t, lang);
    }

    function timeHtml(panel) {
      var rows = panel.time_in_stage || [];
      if (!rows.length) { return div('empty', esc(t('panel.empty'))); }
      var hang = placeStatus(panel.places, 'longest_stage');
      return stageTimeChart(rows, hang, t, state.lang) + div('legend', esc(t('panel.time_note')));
    }

    function incomingHtml(panel) {
      var inc = panel.incoming || {}, lang = state.lang;
      if (!inc.total) { return div('empty', esc(t('panel.incoming_empty'))); }
      var rate = inc.rate && typeof inc.rate === 'object' ? inc.rate.value : inc.rate;
      return '<div class="' + el('lead') + '" data-total="' + esc(inc.total) + '" data-deals="' +
        esc(inc.became_deals) + '"><span class="' + el('big') + '">' + esc(fill(t('panel.incoming_total'),
        {incoming: num(inc.total, lang), deals: num(inc.became_deals, lang), rate: pct(rate, lang)})) +
        '</span></div>' + incomingChart(inc.by_source || [], t, lang);
    }

    function workloadRows(panel) {
      var load = panel.workload || {}, users = load.users || load;
      if (Array.isArray(users)) { return users.map(function (r) { return $.extend({name: userName(r.user_id)}, r); }); }
      return Object.keys(users).filter(function (k) { return k !== 'median'; }).map(function (id) {
        return $.extend({user_id: id, name: userName(id)}, users[id]);
      });
    }

    function isIdleAdmin(panel, userId, busy) {
      var row = (panel.managers || []).filter(function (m) { return String(m.user_id) === String(userId); })[0];
      return !!(row && row.is_admin && !busy);
    }

    function workloadHtml(panel) {
      var median = (panel.workload || {}).median || {};
      var rows = workloadRows(panel).filter(function (r) { return !isIdleAdmin(panel, r.user_id, r.open_deals); });
      if (!rows.length) { return div('empty', esc(t('panel.empty'))); }
      rows.sort(function (a, b) { return (b.open_deals || 0) - (a.open_deals || 0); });
      return workloadChart(rows, median.open_deals, t, state.lang);
    }

    // ------------------------------------------------------------ speed to lead (issue 21)
    /** Working minutes for people: "12 минут" below 90 minutes, "1,5 часа" above. */
    function minutesText(m) {
      if (m === null || m === undefined) { return '—'; }
      if (m < 90) { return plural(Math.round(m), ['speed.minutes_one', 'speed.minutes_few', 'speed.minutes_many']); }
      var h = m / 60;
      if (h >= 48) {  // reached only around the clock: 48 working hours span more than the 7 days a request is new
        var d = h / 24;
        return plural(d < 10 ? Math.round(d * 10) / 10 : Math.round(d), ['common.days_one', 'common.days_few',
          'common.days_many']);
      }
      h = h < 10 ? Math.round(h * 10) / 10 : Math.round(h);
      return plural(h, ['common.hours_one', 'common.hours_few', 'common.hours_many']);
    }

    function speedRows(rows, label) {
      var lang = state.lang;
      function cell(v, extra) { return '<td class="' + el('num') + '"' + (extra || '') + '>' + esc(v) + '</td>'; }
      return '<table class="' + el('table', CSS + '__speed-table') + '"><tr><th>' + esc(t(label)) + '</th>' +
        ['speed.median', 'speed.p80', 'speed.within', 'speed.waiting'].map(function (k) {
          return '<th class="' + el('num') + '">' + esc(t(k)) + '</th>';
        }).join('') + '</tr>' + rows.map(function (r) {
          var within = r.decided ? fill(t('speed.within_cell'), {share: pct(r.within_share, lang),
            k: num(r.within_limit, lang), n: num(r.decided, lang)}) : '—';
          var waiting = r.untouched_now ? fill(t('speed.waiting_cell'), {n: num(r.untouched_now, lang),
            longest: minutesText(r.longest_wait_minutes)}) : '—';
          return '<tr' + (r.untouched_now ? ' class="' + el('speed-waiting') + '"' : '') + '><td>' + esc(r.label) +
            '</td>' + cell(minutesText(r.median_minutes)) + cell(minutesText(r.p80_minutes)) + cell(within) +
            cell(waiting) + '</tr>';
        }).join('') + '</table>';
    }

    function delayHtml(buckets, working) {
      var lang = state.lang, closed = 0;
      buckets.forEach(function (b) { closed += b.closed || 0; });
      if (!closed) { return div('empty', esc(t('speed.by_delay_empty'))); }
      return '<table class="' + el('table', CSS + '__delay-table') + '"><tr><th>' + esc(t('speed.delay')) + '</th>' +
        '<th class="' + el('num') + '">' + esc(t('speed.closed')) + '</th><th class="' + el('num') + '">' +
        esc(t('speed.won')) + '</th><th>' + esc(t('speed.win_rate')) + '</th></tr>' + buckets.map(function (b) {
          var rate = b.rate === null || b.rate === undefined ? null : b.rate;
          var bar = rate === null ? '—' : '<span class="' + el('rate-bar') + '"><span style="width:' +
            Math.round(rate * 100) + '%"></span></span> ' + esc(pct(rate, lang));
          var name = 'speed.bucket_' + b.bucket + (b.bucket === '1d' && !working ? '_clock' : '');
          return '<tr data-bucket="' + esc(b.bucket) + '"><td>' + esc(t(name)) + '</td>' +
            '<td class="' + el('num') + '">' + esc(num(b.closed, lang)) + '</td><td class="' + el('num') + '">' +
            esc(num(b.won, lang)) + '</td><td>' + bar + '</td></tr>';
        }).join('') + '</table>';
    }

    function speedHtml(panel) {
      var s = panel.speed_to_lead, lang = state.lang;
      if (!s || !s.team || !s.team.deals && !(s.by_delay || []).some(function (b) { return b.closed; })) {
        return div('empty', esc(t('speed.empty')));
      }
      var team = s.team;
      var lead = team.untouched_now ? fill(t('speed.lead_waiting'), {
        n: plural(team.untouched_now, ['speed.requests_one', 'speed.requests_few', 'speed.requests_many']),
        longest: minutesText(team.longest_wait_minutes)}) : t('speed.lead_none');
      var summary = team.touched ? fill(t('speed.summary'), {median: minutesText(team.median_minutes),
        share: pct(team.within_share || 0, lang), limit: minutesText(s.limit_minutes)}) : '';
      var managers = (s.managers || []).map(function (m) {
        return $.extend({label: m.name || userName(m.user_id)}, m);
      });
      var sources = (s.sources || []).map(function (r) {
        return $.extend({label: r.source ? sourceName(r.source, t) : t('speed.no_source')}, r);
      });
      return div('lead', '<span class="' + el('big') + '">' + esc(lead) + '</span>' +
          (summary ? '<br>' + esc(summary) : '')) +
        (managers.length ? speedRows(managers, 'speed.manager') : '') +
        (sources.length ? speedRows(sources, 'speed.source') : '') +
        '<h3 class="' + el('h2') + '">' + esc(t('speed.by_delay_title')) + '</h3>' + delayHtml(s.by_delay || [], s.working_hours) +
        div('legend', esc(fill(t(s.working_hours ? 'speed.note_working' : 'speed.note_clock'),
          {limit: minutesText(s.limit_minutes)})));
    }

    function planRows(panel) {
      return (panel.managers || []).map(function (m) {
        var plan = m.plan || {};
        var pace = plan.days_total ? (plan.days_total - (plan.days_left || 0)) / plan.days_total : null;
        return {user_id: m.user_id, name: m.name || userName(m.user_id), plan_amount: plan.plan_amount,
                fact_amount: plan.fact_amount || 0, projected_amount: m.projected_amount !== undefined ?
                  m.projected_amount : plan.projected_amount, p_plan_met: m.p_plan_met, pace_share: pace};
      });
    }

    function plansHtml(panel) {
      var rows = planRows(panel).filter(function (r) { return !isIdleAdmin(panel, r.user_id, r.plan_amount); });
      if (!rows.length) { return div('empty', esc(t('panel.plans_empty'))); }
      return planChart(rows, t, state.lang) + div('legend', esc(t('panel.plans_legend')));
    }

    function forecastHtml(panel) {
      var fc = panel.forecast || {}, months = (fc.months || []).slice(0, 3), lang = state.lang;
      if (!months.length) { return div('empty', esc(t('panel.forecast_empty'))); }
      var acc = panel.backtest || fc.accuracy || {};
      var accuracy = acc.months && (acc.months.length || acc.months) ? t('panel.forecast_accuracy', {
        months: num(Array.isArray(acc.months) ? acc.months.length : acc.months, lang), wape: pct(acc.wape, lang),
        bias: signedPct(acc.bias, lang), coverage: pct(acc.coverage, lang)}) : t('panel.forecast_no_accuracy');
      var table = '<table class="' + el('table') + '"><tr><th>' + esc(t('panel.forecast_month')) + '</th><th class="' +
        el('num') + '">P10</th><th class="' + el('num') + '">P50</th><th class="' + el('num') + '">P90</th>' +
        '<th class="' +
        el('num') + '">' + esc(t('panel.forecast_won')) + '</th></tr>' + months.map(function (m) {
          return '<tr><td>' + esc(monthName(m.start, lang)) + '</td><td class="' + el('num') + '">' +
            esc(num(m.p10, lang)) + '</td><td class="' + el('num') + '">' + esc(num(m.p50, lang)) + '</td><td class="' +
            el('num') + '">' + esc(num(m.p90, lang)) + '</td><td class="' + el('num') + '">' +
            esc(num(m.won_so_far || 0, lang)) + '</td></tr>';
        }).join('') + '</table>';
      return forecastChart(months, t, lang) + div('lead', esc(accuracy), ' data-accuracy="1"') + table;
    }

    function usefulnessHtml(panel) {
      var rules = panel.usefulness || panel.hint_usefulness || [], lang = state.lang;
      if (!Array.isArray(rules)) {
        rules = Object.keys(rules).map(function (code) { return $.extend({code: code}, rules[code]); });
      }
      if (!rules.length) { return div('empty', esc(t('panel.usefulness_empty'))); }
      var names = {stuck_in_stage: t('panel.rule_stuck_in_stage'), no_open_task: t('panel.rule_no_open_task'),
                   overdue_task: t('panel.rule_overdue_task'), no_activity: t('panel.rule_no_activity'),
                   close_date_passed: t('panel.rule_close_date_passed'),
                   close_date_pushed: t('panel.rule_close_date_pushed'), win_chance: t('panel.rule_win_chance'),
                   plan_impact: t('panel.rule_plan_impact'),
                   first_contact_overdue: t('panel.rule_first_contact_overdue')};
      function cell(v) { return '<td class="' + el('num') + '">' + esc(v) + '</td>'; }
      return '<table class="' + el('table') + '"><tr><th>' + esc(t('panel.usefulness_rule')) + '</th>' +
        ['panel.usefulness_shown', 'panel.usefulness_dismissed', 'panel.usefulness_snoozed',
         'panel.usefulness_resolved'].map(function (key) {
          return '<th class="' + el('num') + '">' + esc(t(key)) + '</th>';
        }).join('') + '</tr>' + rules.map(function (r) {
          var resolved = r.resolved_share !== undefined ? r.resolved_share : null;
          return '<tr data-rule="' + esc(r.code) + '"><td>' + esc(names[r.code] || r.code) + '</td>' +
            cell(num(r.shown || 0, lang)) + cell(num(r.dismissed || 0, lang)) + cell(num(r.snoozed || 0, lang)) +
            cell(pct(resolved, lang)) + '</tr>';
        }).join('') + '</table>';
    }

    function changesHtml(panel) {
      var day = (panel.changes || {}).last_24h, lang = state.lang;
      if (!day) { return ''; }
      return div('muted', esc(t('panel.changes', {created: num(day.created, lang), won: num(day.won, lang),
        won_amount: num(day.won_amount, lang), lost: num(day.lost, lang), lost_amount: num(day.lost_amount, lang)})));
    }

    function syncHtml(sync) {
      var lang = state.lang, percent = sync.percent || 0, label;
      if (sync.state === 'running') {
        label = t('panel.sync_running', {percent: num(percent, lang, 0),
                                         entities: num(sync.entities_done || 0, lang)}) +
          (sync.eta_seconds ? ' · ' + t('panel.sync_eta', {n: num(Math.ceil(sync.eta_seconds / 60), lang)}) : '');
      } else if (sync.state === 'done') {
        label = t('panel.sync_done', {ago: sync.finished_at ? ago(sync.finished_at) : ''});
      } else if (sync.state === 'never') {
        label = t('panel.sync_never');
      } else {
        label = t('panel.sync_stopped', {reason: sync.reason || sync.state || ''});
      }
      return '<div data-percent="' + esc(percent) + '" data-state="' + esc(sync.state) + '">' + esc(label) + '</div>' +
        (sync.state && sync.state !== 'never' ? progressBar(percent, label) : '');
    }

    // -- the plan editor: month × manager, amount and count

    function planEditorHtml(plans, month) {
      var managers = editableManagers();
      if (!managers.length) { return div('empty', esc(t('panel.plans_no_managers'))); }
      var byUser = {};
      (plans || []).forEach(function (p) { if (p.month === month) { byUser[p.user_id || 'account'] = p; } });
      function input(kind, user, value) {
        return '<input class="' + el('input') + '" type="number" min="0" step="1" data-kind="' + kind +
          '" data-user="' + esc(user) + '" value="' + esc(value === null || value === undefined ? '' : value) + '">';
      }
      return '<div class="' + el('form-row') + '"><label>' + esc(t('panel.plan_month')) + '</label><input class="' +
        el('input') + '" type="month" data-dp-plan-month value="' + esc(month) + '"></div>' +
        '<table class="' + el('table') + '"><tr><th>' + esc(t('panel.plan_manager')) + '</th><th>' +
        esc(t('panel.plan_amount')) + '</th><th>' + esc(t('panel.plan_count')) + '</th></tr>' +
        managers.map(function (m) {
          var plan = byUser[m.user_id] || {};
          return '<tr data-user="' + esc(m.user_id) + '"><td>' + esc(m.name) + '</td><td>' +
            input('amount', m.user_id, plan.amount) + '</td><td>' + input('count', m.user_id, plan.count) +
            '</td></tr>';
        }).join('') + '</table><div class="' + el('actions') + '">' +
        button('save-plans', t('common.save'), 'primary') + '<span class="' + el('status') + '"></span></div>' +
        div('legend', esc(t('panel.plan_hint')));
    }

    function editableManagers() {
      var panel = state.panel || {}, seen = {}, out = [];
      (panel.managers || []).forEach(function (m) {
        seen[m.user_id] = true;
        out.push({user_id: m.user_id, name: m.name || userName(m.user_id)});
      });
      workloadRows(panel).forEach(function (r) {
        if (!seen[r.user_id]) { seen[r.user_id] = true; out.push({user_id: r.user_id, name: r.name}); }
      });
      return out;
    }

    function loadPlans(month) {
      state.planMonth = month;
      fillSection('plan-editor', loadingBox('common.loading'));
      api('GET', '/plans?month=' + encodeURIComponent(month))
        .done(function (data) {
          state.plans = (data && (data.items || data.plans)) || [];
          fillSection('plan-editor', planEditorHtml(state.plans, month));
        })
        .fail(function (xhr) { fillSection('plan-editor', errorBox(xhr, 'reload-plans')); });
    }

    /** The plans typed in that differ from the saved ones (an emptied row removes its plan). */
    function changedPlans() {
      var month = state.planMonth, rows = {}, held = {};
      (state.plans || []).forEach(function (p) { held[p.user_id] = p; });
      panelRoot().find('[data-section="plan-editor"] input[data-kind]').each(function () {
        var user = $(this).attr('data-user'), kind = $(this).attr('data-kind'), raw = $.trim($(this).val());
        rows[user] = rows[user] || {month: month, user_id: Number(user), amount: null, count: null};
        rows[user][kind] = raw === '' ? null : Number(raw);
      });
      return Object.keys(rows).map(function (k) { return rows[k]; }).filter(function (row) {
        var before = held[row.user_id] || {amount: null, count: null};
        return Number(before.amount || 0) !== Number(row.amount || 0) ||
          Number(before.count || 0) !== Number(row.count || 0);
      });
    }

    /** One PUT per changed plan (the API writes a plan at a time); the editor reloads when all are stored. */
    function savePlans() {
      var rows = changedPlans(), box = panelRoot().find('[data-section="plan-editor"]');
      var status = box.find('.' + CSS + '__status'), btn = box.find('[data-dp-action="save-plans"]');
      if (!rows.length) {
        status.attr('class', el('status', CSS + '__muted')).text(t('panel.plans_unchanged'));
        return;
      }
      btn.prop('disabled', true);
      status.attr('class', el('status', CSS + '__muted')).text(t('common.saving'));
      var calls = rows.map(function (row) { return api('PUT', '/plans', row); });
      $.when.apply($, calls)
        .done(function () {
          btn.prop('disabled', false);
          rows.forEach(function (row) {
            state.plans = (state.plans || []).filter(function (p) { return p.user_id !== row.user_id; });
            if (row.amount !== null || row.count !== null) { state.plans.push(row); }
          });
          status.attr('class', el('status', CSS + '__note')).text(t('common.saved'));
          clearTimeout(state.planRefresh);
          state.planRefresh = setTimeout(function () {  // the progress chart follows once the recompute ran
            api('GET', '/panel').done(function (raw) {
              state.panel = normalizePanel(raw);
              fillSection('plans', plansHtml(state.panel));
            });
          }, 1500);
        })
        .fail(function (xhr) {
          btn.prop('disabled', false);
          status.attr('class', el('status', CSS + '__note ' + CSS + '__note--error')).text(failure(xhr));
        });
    }

    // -- the settings form: stage overrides, no-activity days, close-date field, supervisors

    function settingsHtml(settings) {
      var panel = state.panel || {};
      var stages = settings.stages || (panel.time_in_stage || []).map(function (r) {
        return {status_id: r.status_id, name: r.name};
      });
      var overrides = settings.stage_overrides || {};
      var users = settings.users || workloadRows(panel).map(function (r) { return {id: r.user_id, name: r.name}; });
      var supervisors = {};
      (settings.supervisor_ids || []).forEach(function (id) { supervisors[id] = true; });
      var fields = settings.date_fields || [];
      var closeField = settings.close_date_field_id;
      function auto() {  // an empty field: the limit is learned from the stage's history (P80 / P95)
        return t('panel.settings_auto');
      }
      var known = fields.some(function (f) { return String(f.id) === String(closeField); });
      var kinds = {date_time: 'panel.settings_type_date_time', birthday: 'panel.settings_type_birthday'};
      var fieldControl = fields.length ? '<select class="' + el('input', CSS + '__input--field') +
        '" name="close_date_field">' +
        '<option value="">' +
        esc(t('panel.settings_none')) + '</option>' + fields.map(function (f) {
          var kind = kinds[f.type] ? ' (' + t(kinds[f.type]) + ')' : '';  // a plain date needs no note
          return '<option value="' + esc(f.id) + '"' + (String(f.id) === String(closeField) ? ' selected' : '') + '>' +
            esc(f.name + kind) + '</option>';
        }).join('') + (closeField && !known ?  // chosen by id before the fields were synced, or deleted since
          '<option value="' + esc(closeField) + '" selected>' +
          esc(t('panel.settings_field_unknown', {id: closeField})) + '</option>' : '') + '</select>' :
        '<input class="' + el('input') + '" name="close_date_field" type="number" min="0" value="' +
        esc(closeField || '') + '" placeholder="' + esc(t('panel.settings_field_id')) + '">';
      return '<form class="' + el('settings-form') + '" onsubmit="return false">' +
        '<div class="' + el('form-row') + '"><label>' + esc(t('panel.settings_no_activity')) + '</label>' +
        '<input class="' +
        el('input', CSS + '__input--short') + '" name="no_activity_days" type="number" min="1" step="1" value="' +
        esc(settings.no_activity_days === undefined ? 7 : settings.no_activity_days) + '"></div>' +
        firstContactRows(settings) +
        '<div class="' + el('form-row') + '"><label>' + esc(t('panel.settings_close_field')) + '</label>' +
        fieldControl +
        '</div><h3 class="' + el('h2') + '">' + esc(t('panel.settings_stages')) + '</h3>' +
        (stages.length ? '<table class="' + el('table') + '"><tr><th>' + esc(t('panel.settings_stage')) + '</th><th>' +
          esc(t('panel.settings_warn')) + '</th><th>' + esc(t('panel.settings_crit')) + '</th></tr>' +
          stages.map(function (s) {
            var o = overrides[s.status_id] || overrides[String(s.status_id)] || {};
            return '<tr data-stage="' + esc(s.status_id) + '"><td>' + esc(s.name) + '</td><td>' +
              '<input class="' + el('input', CSS + '__input--short') +
              '" type="number" min="0" step="0.5" data-stage="' + esc(s.status_id) + '" data-kind="warn_days" value="' +
              esc(o.warn_days === undefined || o.warn_days === null ? '' : o.warn_days) + '" placeholder="' +
              esc(auto()) + '"></td><td><input class="' + el('input', CSS + '__input--short') +
              '" type="number" min="0" step="0.5" data-stage="' + esc(s.status_id) + '" data-kind="crit_days" value="' +
              esc(o.crit_days === undefined || o.crit_days === null ? '' : o.crit_days) + '" placeholder="' +
              esc(auto()) + '"></td></tr>';
          }).join('') + '</table>' : div('empty', esc(t('panel.empty')))) +
        '<h3 class="' + el('h2') + '">' + esc(t('panel.settings_supervisors')) + '</h3>' +
        div('legend', esc(t('panel.settings_supervisors_note'))) + '<div class="' + el('checks') + '">' +
        users.map(function (u) {
          var id = u.id === undefined ? u.user_id : u.id;
          if (u.is_admin) {  // admins are supervisors anyway: shown ticked, not sent
            return '<label><input type="checkbox" checked disabled> ' + esc(u.name || userName(id)) + ' (' +
              esc(t('panel.settings_admin')) + ')</label>';
          }
          return '<label><input type="checkbox" name="supervisor" value="' + esc(id) + '"' +
            (supervisors[id] ? ' checked' : '') + '> ' + esc(u.name || userName(id)) + '</label>';
        }).join('') + '</div><div class="' + el('actions') + '">' +
        button('save-settings', t('common.save'), 'primary') +
        '<span class="' + el('status') + '"></span></div></form>';
    }

    /** The first-contact limit and the working hours (issue 21): a day checkbox row and a from-to window. */
    function firstContactRows(settings) {
      var hours = settings.working_hours, clock = hours === null;
      var shown = hours || (settings.defaults || {}).working_hours || {days: [1, 2, 3, 4, 5], start: '09:00',
        end: '18:00'};
      var days = {};
      (shown.days || []).forEach(function (d) { days[d] = true; });
      var minutes = settings.first_contact_minutes === undefined ? 15 : settings.first_contact_minutes;
      return '<div class="' + el('form-row') + '"><label>' + esc(t('speed.settings_minutes')) + '</label>' +
        '<input class="' + el('input', CSS + '__input--short') + '" name="first_contact_minutes" type="number" ' +
        'min="1" max="1440" step="1" value="' + esc(minutes) + '"></div>' +
        '<div class="' + el('form-row') + '"><label>' + esc(t('speed.settings_hours')) + '</label>' +
        '<label class="' + el('day') + '"><input type="checkbox" name="around_the_clock"' + (clock ? ' checked' : '') +
        '> ' + esc(t('speed.settings_clock')) + '</label></div><div class="' + el('form-row') + '">' +
        [1, 2, 3, 4, 5, 6, 7].map(function (d) {
          return '<label class="' + el('day') + '"><input type="checkbox" name="work_day" value="' + d + '"' +
            (days[d] ? ' checked' : '') + '> ' + esc(t('speed.day_' + d)) + '</label>';
        }).join('') + '</div><div class="' + el('form-row') + '">' + timeInput('work_start', shown.start) + ' – ' +
        timeInput('work_end', shown.end) + '</div>';
    }

    function timeInput(name, value) {  // text, not type=time: that one shows 18:00 as "06:00 PM" in some locales
      return '<input class="' + el('input', CSS + '__input--short') + '" name="' + name + '" type="text" ' +
        'inputmode="numeric" maxlength="5" pattern="[0-2][0-9]:[0-5][0-9]" placeholder="09:00" value="' +
        esc(value) + '">';
    }

    function collectFirstContact(form) {
      var days = form.find('input[name="work_day"]:checked').map(function () { return Number($(this).val()); }).get();
      return {first_contact_minutes: Number(form.find('[name="first_contact_minutes"]').val()) || 15,
              working_hours: form.find('[name="around_the_clock"]').is(':checked') ? null :
                {days: days, start: form.find('[name="work_start"]').val(), end: form.find('[name="work_end"]').val()}};
    }

    function collectSettings() {
      var form = panelRoot().find('.' + CSS + '__settings-form'), overrides = {};
      form.find('input[data-stage]').each(function () {
        var raw = $.trim($(this).val());
        if (raw === '') { return; }
        var stage = $(this).attr('data-stage');
        overrides[stage] = overrides[stage] || {};
        overrides[stage][$(this).attr('data-kind')] = Number(raw);
      });
      Object.keys(overrides).forEach(function (k) {  // a critical limit alone means nothing: warn is required
        if (overrides[k].warn_days === undefined) { delete overrides[k]; }
      });
      var field = $.trim(form.find('[name="close_date_field"]').val() || '');
      return $.extend(collectFirstContact(form), {
              no_activity_days: Number(form.find('[name="no_activity_days"]').val()) || 7,
              close_date_field_id: field === '' ? null : Number(field),
              stage_overrides: overrides,
              supervisor_ids: form.find('input[name="supervisor"]:checked').map(function () {
                return Number($(this).val());
              }).get()});
    }

    function loadSettings() {
      fillSection('settings', loadingBox('common.loading'));
      api('GET', '/settings')
        .done(function (data) { fillSection('settings', settingsHtml(data || {})); })
        .fail(function (xhr) { fillSection('settings', errorBox(xhr, 'reload-settings')); });
    }

    function saveButton(name, method, path, body, onDone) {
      var box = panelRoot().find('[data-section="' + name + '"]');
      var status = box.find('.' + CSS + '__status'), btn = box.find('[data-dp-action^="save-"]');
      btn.prop('disabled', true);
      status.attr('class', el('status', CSS + '__muted')).text(t('common.saving'));
      api(method, path, body)
        .done(function (data) {
          btn.prop('disabled', false);
          status.attr('class', el('status', CSS + '__note')).text(t('common.saved'));
          if (onDone) { onDone(data); }
        })
        .fail(function (xhr) {
          btn.prop('disabled', false);
          status.attr('class', el('status', CSS + '__note ' + CSS + '__note--error')).text(failure(xhr));
        });
    }

    function loadSync() {
      api('GET', '/sync')
        .done(function (sync) {
          panelRoot().find('.' + CSS + '__sync').html(syncHtml(sync || {}));
          if (sync && sync.state === 'running') {
            state.syncTimer = setTimeout(loadSync, 5000);
          }
        })
        .fail(function () { panelRoot().find('.' + CSS + '__sync').empty(); });
    }

    /** The panel answer flattened: the team insight's fields at the top, beside forecast, managers, usefulness. */
    function normalizePanel(raw) {
      raw = raw || {};
      var team = raw.team || {}, period = team.period;
      return $.extend({}, team, {
        as_of: raw.as_of || team.as_of, forecast: raw.forecast, backtest: raw.backtest, managers: raw.managers || [],
        usefulness: raw.usefulness || [], sync: raw.sync, plans: raw.plans, speed_to_lead: raw.speed_to_lead,
        period_days: period && period.length === 2 ? Math.round((period[1] - period[0]) / DAY) : 30
      });
    }

    function renderPanelSections(panel) {
      state.panel = panel;
      panelRoot().find('.' + CSS + '__places-slot').html(placesHtml(panel.places) + changesHtml(panel));
      panelRoot().find('.' + CSS + '__as-of').text(freshness(panel.as_of));
      fillSection('funnel', funnelHtml(panel));
      fillSection('time', timeHtml(panel));
      fillSection('incoming', incomingHtml(panel));
      fillSection('workload', workloadHtml(panel));
      fillSection('plans', plansHtml(panel));
      fillSection('forecast', forecastHtml(panel));
      fillSection('usefulness', usefulnessHtml(panel));
      fillSection('speed', speedHtml(panel));
    }

    var PANEL_SECTIONS = ['funnel', 'time', 'incoming', 'workload', 'plans', 'forecast', 'usefulness', 'speed', 'report'];

    function loadPanel() {
      var root = panelRoot();
      root.find('.' + CSS + '__places-slot').empty();
      PANEL_SECTIONS.concat(['plan-editor', 'settings']).forEach(function (name) {
        fillSection(name, loadingBox('common.loading'));
      });
      api('GET', '/panel' + panelQuery())
        .done(function (raw) {
          renderFilteredPanel(raw);
          if (state.panelMode === 'admin') {  // the admin page: plans and settings need the panel's managers
            loadPlans(state.planMonth || monthKey(new Date()));
            loadSettings();
          }
        })
        .fail(function (xhr) {
          if (xhr && xhr.status === 403) {  // not a supervisor: say so once, not in every section
            root.find('.' + CSS + '__grid, .' + CSS + '__places-slot, .' + CSS + '__sync').remove();
            root.append(div('error', esc(t('panel.supervisors_only'))) +
              div('muted', esc(t('panel.see_attention', {page: t('menu.attention')}))));
            return;
          }
          if (!root.find('.' + CSS + '__places-slot').length) {  // the admins' page has no slot of its own
            root.find('.' + CSS + '__grid').before('<div class="' + el('places-slot') + '"></div>');
          }
          root.find('.' + CSS + '__places-slot').html(errorBox(xhr, 'reload-panel'));
          PANEL_SECTIONS.concat(['plan-editor', 'settings']).forEach(function (name) {
            fillSection(name, div('muted', esc(t('panel.unavailable'))));
          });
        });
      loadSync();
    }

    var panelActions = {
      'reload-panel': loadPanel,
      'manager-deals': showManagerDeals,
      'reload-plans': function () { loadPlans(state.planMonth); },
      'reload-settings': loadSettings,
      'save-plans': savePlans,
      'save-settings': function () {
        saveButton('settings', 'PUT', '/settings', collectSettings(), function (saved) {
          if (saved && saved.stages) { fillSection('settings', settingsHtml(saved)); }
          panelRoot().find('[data-section="settings"] .' + CSS + '__status')
            .attr('class', el('status', CSS + '__note')).text(t('common.saved'));
        });
      }
    };

    // ------------------------------------------------ panel filters and the per-manager report

    /** The panel's query string from the chosen filters: any panel section that loads data can follow it. */
    function panelQuery() {
      var f = state.filters || {}, parts = [];
      ['from', 'to', 'pipeline_id', 'user_id', 'group_id'].forEach(function (key) {
        if (f[key] !== undefined && f[key] !== null && f[key] !== '') {
          parts.push(key + '=' + encodeURIComponent(f[key]));
        }
      });
      return parts.length ? '?' + parts.join('&') : '';
    }

    function dayInput(ts) {
      return ts ? new Date(ts * 1000).toISOString().slice(0, 10) : '';
    }

    /** A picked calendar day as 12:00 UTC: the same day in every account timezone, which counts whole days. */
    function dayNoon(value) {
      var p = String(value || '').split('-');
      return p.length === 3 ? Math.round(Date.UTC(+p[0], +p[1] - 1, +p[2], 12) / 1000) : null;
    }

    var FILTER_LABELS = {period: 'panel.filter_period', pipeline_id: 'panel.filter_pipeline_id',
                         user_id: 'panel.filter_user_id', group_id: 'panel.filter_group_id'};
    var PERIOD_LABELS = {last_30: 'panel.period_last_30', this_month: 'panel.period_this_month',
                         last_month: 'panel.period_last_month', this_quarter: 'panel.period_this_quarter',
                         last_90: 'panel.period_last_90'};

    function filterSelect(name, options, chosen) {
      return '<label class="' + el('filter') + '"><span>' + esc(t(FILTER_LABELS[name])) + '</span><select ' +
        'class="' + el('input', CSS + '__input--field') + '" data-dp-filter="' + name + '">' +
        options.map(function (o) {
          return '<option value="' + esc(o.value) + '"' + (String(o.value) === String(chosen) ? ' selected' : '') +
            '>' + esc(o.label) + '</option>';
        }).join('') + '</select></label>';
    }

    function filtersHtml(raw) {
      var o = raw.options, f = raw.filters, chosen = state.filters || {};
      if (!o || !f) { return ''; }
      var periods = (o.periods || []).filter(function (p) { return PERIOD_LABELS[p.code]; }).map(function (p) {
        return {value: p.code, label: t(PERIOD_LABELS[p.code])};
      });
      periods.push({value: 'custom', label: t('panel.period_custom')});
      var period = chosen.period || 'last_30';
      var html = filterSelect('period', periods, period);
      if (period === 'custom') {
        html += '<div class="' + el('filter') + '"><span>' + esc(t('panel.filter_days')) + '</span><span class="' +
          el('filter-days') + '"><input type="date" class="' + el('input') + '" data-dp-filter="from" value="' +
          esc(dayInput(f.from)) + '"> – <input type="date" class="' + el('input') + '" data-dp-filter="to" value="' +
          esc(dayInput(f.to - 1)) + '"></span></div>';
      }
      html += filterSelect('pipeline_id', (o.pipelines || []).map(function (p) {
        return {value: p.id, label: p.name};
      }), f.pipeline_id);
      html += filterSelect('user_id', [{value: '', label: t('panel.filter_everyone')}].concat(
        (o.users || []).map(function (u) { return {value: u.id, label: u.name || t('panel.user_no_name', {id: u.id})}; })),
        f.user_id || '');
      if ((o.groups || []).length) {
        html += filterSelect('group_id', [{value: '', label: t('panel.filter_all_groups')}].concat(
          o.groups.map(function (g) { return {value: g, label: t('panel.group_name', {id: g})}; })), f.group_id || '');
      }
      return '<div class="' + el('filters') + '">' + html + '</div>';
    }

    /** Apply one changed filter: a preset sets from/to from the server's calendar, custom days as local days. */
    function changeFilter(name, value) {
      var f = state.filters = state.filters || {}, raw = state.panelRaw || {};
      if (name === 'period') {
        f.period = value;
        var preset = ((raw.options || {}).periods || []).filter(function (p) { return p.code === value; })[0];
        if (preset) { f.from = preset.from; f.to = preset.to; }
        if (value === 'last_30') { f.from = f.to = null; }  // the default follows the clock
      } else if (name === 'from') {
        f.from = dayNoon(value);
      } else if (name === 'to') {
        var end = dayNoon(value);
        f.to = end === null ? null : end + 1;  // the chosen day itself is included
      } else {
        f[name] = value === '' ? null : value;
        if (name === 'user_id' && f.user_id) { f.group_id = null; }
      }
      loadFilteredPanel();
    }

    function loadFilteredPanel() {
      api('GET', '/panel' + panelQuery())
        .done(function (raw) { renderFilteredPanel(raw); })
        .fail(function (xhr) { panelRoot().find('.' + CSS + '__places-slot').html(errorBox(xhr, 'reload-panel')); });
    }

    function renderFilteredPanel(raw) {
      state.panelRaw = raw || {};
      panelRoot().find('.' + CSS + '__filters-slot').html(filtersHtml(state.panelRaw));
      renderPanelSections(normalizePanel(raw));
      fillSection('report', reportHtml(state.panelRaw.report));
      panelRoot().attr('data-dp-loaded', panelQuery());  // which filters the figures on screen answer
    }

    function reportHtml(report) {
      var lang = state.lang, rows = (report && report.rows) || [];
      if (!rows.length) { return div('empty', esc(t('panel.report_empty'))); }
      function cell(count, sum) {
        return '<td class="' + el('num') + '">' + esc(num(count, lang)) + (sum ? '<div class="' + el('muted') +
          '">' + esc(num(sum, lang)) + '</div>' : '') + '</td>';
      }
      function seconds(s) {
        if (s === null || s === undefined) { return '—'; }
        s = Math.round(s);
        return s < 60 ? t('panel.report_seconds', {n: num(s, lang)}) :
          t('panel.report_minutes', {m: num(Math.floor(s / 60), lang), s: num(s % 60, lang)});
      }
      var team = report.team || {};
      var head = ['report_manager', 'report_created', 'report_in_work', 'report_won', 'report_lost', 'report_tasks',
                  'report_without_task', 'report_contacts', 'report_calls'].map(function (key, i) {
        return '<th' + (i ? ' class="' + el('num') + '"' : '') + '>' + esc(t('panel.' + key)) + '</th>';
      }).join('');
      return '<table class="' + el('table', CSS + '__report') + '"><tr>' + head + '</tr>' + rows.map(function (r) {
        return '<tr data-user="' + esc(r.user_id) + '"><td><a href="#" data-dp-action="manager-deals" data-user="' +
          esc(r.user_id) + '">' + esc(r.name || t('panel.user_no_name', {id: r.user_id})) + '</a></td>' +
          cell(r.created, r.created_amount) + cell(r.in_work, r.in_work_amount) + cell(r.won, r.won_amount) +
          cell(r.lost, r.lost_amount) +
          '<td class="' + el('num') + '">' + esc(num(r.open_tasks, lang) + ' (' + num(r.overdue_tasks, lang) + ')') +
          '</td>' +
          cell(r.deals_without_task) +
          '<td class="' + el('num') + '">' + esc(num(r.contacts_created, lang) + ' / ' + num(r.created, lang)) + '</td>' +
          '<td class="' + el('num') + '">' + esc(num(r.calls, lang)) + '<div class="' + el('muted') + '">' +
          esc(seconds(r.call_avg_seconds)) + '</div></td></tr>';
      }).join('') + '</table>' + div('legend', esc(t('panel.report_note') + (team.avg_calls ? ' ' +
        t('panel.report_team', {calls: num(team.avg_calls, lang), length: seconds(team.avg_call_seconds)}) : ''))) +
        '<div class="' + el('manager-deals') + '"></div>';
    }

    function showManagerDeals(target) {
      var user = $(target).attr('data-user'), box = panelRoot().find('.' + CSS + '__manager-deals');
      box.html(loadingBox('list.loading'));
      api('GET', '/attention?scope=visible&limit=50&user_id=' + encodeURIComponent(user))
        .done(function (data) {
          box.html('<h3 class="' + el('h2') + '">' + esc(t('panel.report_deals', {name: userName(user)})) + '</h3>' +
            attentionHtml(data || {}));
        })
        .fail(function (xhr) { box.html(errorBox(xhr, 'reload-panel')); });
    }

    /** The supervisor panel (mode "team", the Stats page) or the admin page (mode "admin", advanced_settings:
        plans, thresholds and supervisors only). */
    function renderPanelArea(mode) {
      state.panelMode = mode;
      var admin = mode === 'admin';
      ensureStyle();
      // amoCRM titles the advanced_settings page from the manifest's "advanced" block: no second title there.
      workArea().html('<div class="' + CSS + ' ' + CSS + '--panel" id="' + CSS + '-panel">' +
        '<div class="' + el('header') + '"><div>' + (admin ? '' : '<h1 class="' + el('h1') + '">' +
        esc(t('panel.title')) + '</h1><div class="' + el('as-of', CSS + '__muted') + '"></div>') + '</div>' +
        '<div class="' + el('sync') + '"></div></div>' +
        (admin ? '' : '<div class="' + el('filters-slot') + '"></div><div class="' + el('places-slot') + '"></div>') + '<div class="' + el('grid') + '">' +
        (admin ? section('plan-editor', 'panel.plan_editor_title') + section('settings', 'panel.settings_title') :
          section('funnel', 'panel.funnel_title') + section('time', 'panel.time_title') +
          section('speed', 'speed.title', true) +
          section('incoming', 'panel.incoming_title') + section('workload', 'panel.workload_title') +
          section('plans', 'panel.plans_title') + section('forecast', 'panel.forecast_title') +
          section('report', 'panel.report_title', true) +
          section('usefulness', 'panel.usefulness_title', true)) + '</div></div>');
      var root = panelRoot();
      root.on('click', '[data-dp-action]', function (event) {
        var handler = panelActions[$(this).attr('data-dp-action')];
        if (handler) { event.preventDefault(); handler(this); }
      });
      root.on('change', '[data-dp-filter]', function () {
        changeFilter($(this).attr('data-dp-filter'), $(this).val());
      });
      root.on('change', '[data-dp-plan-month]', function () {
        if ($(this).val()) { loadPlans($(this).val()); }
      });
      loadPanel();
    }

    // ------------------------------------------------------------ amoCRM callbacks

    this.callbacks = {
      render: function () {
        state.lang = language();
        // A new deal's card (current_card.id 0) gets no block: there is nothing to read until it is saved.
        if (self.system().area === 'lcard' && currentLeadId()) {
          ensureStyle();
          renderCardArea();
        }
        return true;
      },
      // amoCRM calls init after render and bind_actions on entering a card: the documented moment to read it.
      init: function () {
        if (self.system().area === 'lcard' && currentLeadId() && cardRoot().length &&
            Date.now() - (state.lastRead || 0) >= CARD_POLL_MS) {
          loadCard(true);
        }
        return true;
      },
      bind_actions: function () { return true; },
      settings: function () { return true; },
      onSave: function () { return true; },
      // The left-menu page (amocrm.ru/developers/content/web_sdk/left_menu): {location, item_code, subitem_code}.
      initMenuPage: function (params) {
        state.lang = language();
        var sub = params && params.subitem_code;
        if (sub === MENU_PANEL) {
          renderPanelArea('team');
        } else if (sub === MENU_ATTENTION || !sub) {
          renderAttentionPage();
        }
      },
      advancedSettings: function () {
        state.lang = language();
        renderPanelArea('admin');
        return true;
      },
      destroy: function () {
        clearTimeout(state.syncTimer);
        clearTimeout(state.planRefresh);
        clearInterval(state.freshTimer);
        stopCardPolling();
        cardRoot().off().remove();
        $('#' + CSS + '-page').off().remove();
        panelRoot().off().remove();
      }
    };
    return this;
  };
});
