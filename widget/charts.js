/* Deal Pulse widget: the supervisor panel's charts as inline SVG strings (no library, no CDN). Pure: data, the
   text function t and the language in, markup out; every text escaped. Loaded by panel.js and speed.js. */
define(['./format.js'], function (format) {
  'use strict';

  var CSS = format.CSS, esc = format.esc, num = format.num, pct = format.pct, fill = format.fill,
      monthOf = format.monthOf, el = format.el;

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
    out += Svg.text(0, 12, t('panel.time_legend'), 'svg-head');
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
        var label = fill(t('panel.time_row'), {median: stageDays(median, t, lang),
          p80: p80 === null || p80 === undefined ? t('panel.time_p80_open') :
            t('panel.time_p80', {n: stageDays(p80, t, lang)}), exits: num(r.exits || 0, lang)});
        out += Svg.text(barX, y + 32, label, hang ? 'svg-value-strong' : 'svg-value');
      }
      out += '</g>';
    });
    return out + Svg.close;
  }

  /** Days in a stage, short: hours under a day («0 дн.» read as no time at all). */
  function stageDays(days, t, lang) {
    if (days >= 1) { return t('panel.time_days', {n: num(days, lang)}); }
    var hours = Math.round(days * 24);
    return hours < 1 ? t('panel.time_under_hour') : t('panel.time_hours', {n: num(hours, lang)});
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
    // the bar leaves room for «316 сделок · 192 задачи» beside it
    var rowH = 34, top = 20, width = 460, barX = 150, barW = 150, max = median || 0;
    rows.forEach(function (r) { max = Math.max(max, r.open_deals || 0); });
    var height = top + rows.length * rowH;
    var out = Svg.open(width, height + 4, t('panel.workload_title'));
    rows.forEach(function (r, i) {
      var y = top + i * rowH, over = median && r.open_deals > median * 1.5;
      out += '<g class="' + el('workload-row') + '" data-user="' + esc(r.user_id) + '">';
      out += Svg.text(0, y + 14, Svg.clip(r.name, 22), 'svg-label', null, r.name);
      out += Svg.rect(barX, y + 3, Math.max(r.open_deals ? 2 : 0, Svg.scale(r.open_deals, max, barW)), 14,
        over ? 'bar-over' : 'bar-open');
      out += Svg.text(barX + barW + 8, y + 14, fill(t('panel.workload_row'), {
        deals: format.counted(t, format.FORMS.deals, r.open_deals || 0, lang),
        tasks: format.counted(t, format.FORMS.tasks, r.open_tasks || 0, lang)}), 'svg-value');
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
        chance: format.chance(r.p_plan_met, lang)}) : t('panel.plan_none');
      out += Svg.text(barX, y + 34, label, 'svg-value');
      out += '</g>';
    });
    return out + Svg.close;
  }

  /** The next three months: P10–P90 as a band, P50 as the line, the value printed at each month. */
  function forecastChart(months, t, lang, tz) {
    // margins hold half of the widest label under a month («53 259 000–69 145 700»): it was cut at the right edge
    var width = 460, height = 190, left = 75, right = 70, top = 16, bottom = 40;
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
      out += Svg.text(x(i), height - 22, monthName(m.start, lang, tz), 'svg-label', 'middle');
      out += Svg.text(x(i), height - 8, num(m.p10, lang) + '–' + num(m.p90, lang), 'svg-muted', 'middle');
    });
    return out + Svg.close;
  }

  /** A month's name in the account's timezone `tz` (month starts are its local midnights, which the browser's
      own timezone may place in the month before). */
  function monthName(ts, lang, tz) {
    if (!ts) { return ''; }
    try {
      return new Date(ts * 1000).toLocaleDateString(lang === 'ru' ? 'ru-RU' : 'en-US',
                                                    {month: 'long', year: 'numeric', timeZone: tz || 'UTC'});
    } catch (e) {  // an unknown timezone name
      return monthOf(ts, 'UTC');
    }
  }

  function progressBar(percent, label) {
    var w = Math.max(0, Math.min(100, percent || 0));
    return Svg.open(300, 10, label) + Svg.rect(0, 0, 300, 10, 'progress-track') +
      Svg.rect(0, 0, 3 * w, 10, 'progress-fill') + Svg.close;
  }

  return {funnelChart: funnelChart, stageTimeChart: stageTimeChart, incomingChart: incomingChart,
          sourceName: sourceName, workloadChart: workloadChart, planChart: planChart, forecastChart: forecastChart,
          monthName: monthName, progressBar: progressBar};
});
